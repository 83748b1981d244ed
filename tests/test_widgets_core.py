"""The slider machinery every demo stands on: BlitCanvas, FigureView, SliderPanel, time_callback."""

import io

import ipywidgets as widgets
import numpy as np
import pytest
from PIL import Image

import course_utils as cu


def _pixels(fig) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(cu.plotting.figure_to_png(fig))))


def _figure(y):
    fig, ax = cu.plotting.new_figure()
    x = np.linspace(0, 1, 50)
    ax.plot(x, x**2, label="static")
    (line,) = ax.plot(x, y, lw=3, label="moving")
    ax.set_ylim(-1, 2)
    ax.legend()
    ax.set_title("a title with text that costs time to render")
    return fig, line


def test_blit_redraw_is_pixel_identical_to_a_full_redraw():
    x = np.linspace(0, 1, 50)
    fig, line = _figure(np.zeros(50))
    cu.widgets.blit(fig, [line])
    cu.plotting.figure_to_png(fig)  # first draw caches the background
    line.set_ydata(np.sin(3 * x))
    blitted = _pixels(fig)
    reference, _ = _figure(np.sin(3 * x))
    reference.canvas.draw()
    reference.set_layout_engine("none")
    assert blitted.shape == _pixels(reference).shape
    assert np.array_equal(blitted, _pixels(reference))


def test_blit_redraw_changes_pixels_and_invalidate_redraws_everything():
    fig, line = _figure(np.zeros(50))
    cu.widgets.blit(fig, [line])
    before = _pixels(fig)
    line.set_ydata(np.ones(50))
    after = _pixels(fig)
    assert not np.array_equal(before, after)
    fig.axes[0].set_title("changed")  # static: invisible until invalidate()
    assert np.array_equal(after, _pixels(fig))
    fig.canvas.invalidate()
    assert not np.array_equal(after, _pixels(fig))


def test_blit_rejects_empty_and_foreign_artists():
    fig, _ = _figure(np.zeros(50))
    _, other_line = _figure(np.zeros(50))
    with pytest.raises(ValueError, match="animated"):
        cu.widgets.blit(fig, [])
    with pytest.raises(ValueError, match="animated"):
        cu.widgets.blit(fig, [other_line])


def test_slider_panel_updates_image_and_readout_and_times_each_change():
    fig, line = _figure(np.zeros(50))
    x = np.linspace(0, 1, 50)
    calls = []

    def update(a):
        calls.append(a)
        line.set_ydata(a * x)
        return f"a = {a:.1f}"

    panel = cu.widgets.slider_panel(fig, update, {"a": widgets.FloatSlider(value=0.0, min=0, max=2)})
    assert panel in cu.widgets.SliderPanel.live_panels()
    first = panel.view.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    times = cu.widgets.time_callback(panel, "a", [0.5, 1.0, 1.5])
    assert times.shape == (3,) and np.all(times > 0)
    assert calls == [0.0, 0.5, 1.0, 1.5]
    assert panel.readout.value.endswith("a = 1.5</pre>")
    assert panel.view.image.value != first
