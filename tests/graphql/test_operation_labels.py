"""The `operation` label of the metrics: whatever JSON a client sends as `operationName`
(an object, a list, a number) becomes a bounded label, never an error of the request."""
from __future__ import annotations

from infrastructure.metrics import ANONYMOUS, OTHER, OperationSeries


def test_an_operation_name_that_is_not_a_string_is_other():
    series = OperationSeries(limit=2)
    assert series.label({"obj": "ect"}, True) == OTHER
    assert series.label(["a"], True) == OTHER
    assert series.label(5, True) == OTHER
    assert series.label(None, True) == ANONYMOUS
    assert series.label("MyChats", True) == "MyChats"
    assert series.label("Other1", True) == "Other1"
    assert series.label("Third", True) == OTHER  # past the limit of distinct names
