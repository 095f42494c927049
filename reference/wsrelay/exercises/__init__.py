"""The workbook's exercises: one module per notebook, each with ``q1``.

::

    from wsrelay.exercises import nb01 as ex
    ex.q1.check(route_for)     # "not attempted", "incorrect: …" or "correct"
    ex.q1.hint()
    ex.q1.solution()           # the reference's source, from this package

====================  ========================================================================
``core``              ``Exercise``: check / hint / solution, shown rather than raised
``environment``       the checks of ``00_check-environment``
``nb01`` … ``nb06``   the exercises of notebooks 01 to 06
====================  ========================================================================

The checkers import what they need lazily, so importing one notebook's module stays cheap.
"""

from __future__ import annotations

from wsrelay.exercises.core import Exercise, Result

__all__ = ["Exercise", "Result"]
