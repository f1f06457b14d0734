"""The Python that Spark's workers run when the API is called from a user's own session."""

import sys

import pytest

from logreg_spark.spark.session import use_driver_python


@pytest.mark.parametrize(
    ("environment", "conf", "expected"),
    [
        (None, None, sys.executable),  # nothing chosen: this interpreter, not python3 on the PATH
        (None, "/opt/py/bin/python", "/opt/py/bin/python"),  # the session's spark.pyspark.python
        ("/env/python", None, "python3"),  # PYSPARK_PYTHON chosen: left as the context has it
    ],
)
def test_local_workers_run_the_chosen_or_this_python(spark, monkeypatch, environment, conf, expected):
    context = spark.sparkContext
    monkeypatch.setattr(context, "pythonExec", "python3")  # as a context started without PYSPARK_PYTHON
    if environment is None:
        monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    else:
        monkeypatch.setenv("PYSPARK_PYTHON", environment)
    original_conf = context.getConf
    if conf is not None:
        monkeypatch.setattr(context, "getConf", lambda: original_conf().set("spark.pyspark.python", conf))
    use_driver_python(spark)
    assert context.pythonExec == expected
