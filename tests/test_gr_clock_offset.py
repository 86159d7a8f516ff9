"""The sample-clock offset block in a real GNU Radio graph: its output equals the core resampler's on the whole
stream (rate change through the scheduler, any chunking), and at 0 ppm it is a copy."""
import numpy as np
import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")

from gnuradio import blocks, gr  # noqa: E402
from gnuradio.semcomm import clock_offset  # noqa: E402

from semcomm.channel.stream import ClockOffset  # noqa: E402

pytestmark = pytest.mark.gnuradio


@pytest.mark.parametrize("ppm", [0.0, 50.0, -50.0])
def test_the_block_resamples_as_the_core_does(ppm):
    x = (np.random.default_rng(1).standard_normal(300_000) * (1 + 1j)).astype(np.complex64)
    top = gr.top_block()
    sink, block = blocks.vector_sink_c(), clock_offset(ppm)  # a Python block must stay referenced while it runs
    top.connect(blocks.vector_source_c(x.tolist()), block, sink)
    top.run()
    expected = ClockOffset(ppm).process(x) if ppm else x
    np.testing.assert_array_equal(np.array(sink.data(), np.complex64), expected)
