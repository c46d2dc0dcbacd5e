"""reportlab runs with its C accelerators (``rl_accel``, pinned in requirements.txt), not its pure-Python fallbacks:
without them reportlab still works, only a quarter to a third slower on the reports' tables, so nothing else would
notice if the package went missing."""

from reportlab.lib import rl_accel


def test_reportlab_measures_and_formats_in_c():
    assert {"instanceStringWidthTTF", "fp_str", "escapePDF", "calcChecksum"} <= set(rl_accel._c_funcs)
