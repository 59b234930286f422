"""JSON columns decode through orjson, exactly as the standard library would."""

from __future__ import annotations

import json
import math
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from backend.db import JSONType, loads_json, make_engine


def test_floats_round_trip_exactly_and_nan_falls_back_to_the_standard_library(
    tmp_path: Path,
) -> None:
    values = [0.1, 1 / 3, 2.0**-1074, 1.7976931348623157e308, 9001.0, -0.0, 12345678901234]
    assert loads_json(json.dumps(values)) == values
    assert math.isnan(loads_json('{"x": NaN}')["x"])  # orjson refuses NaN; json writes it
    assert loads_json(b'{"y": Infinity}') == {"y": math.inf}

    engine = make_engine(f"sqlite:///{tmp_path / 'j.sqlite3'}")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("v", JSONType))
    table.metadata.create_all(engine)
    stored = {"sums": values, "penalty": math.inf, "lesions": [{"iou": 0.5000000000000001}]}
    with engine.begin() as connection:
        connection.execute(insert(table).values(id=1, v=stored))
        connection.execute(insert(table).values(id=2, v={"x": values}))
        got = dict(connection.execute(select(table.c.id, table.c.v)).all())
    engine.dispose()
    assert got[1] == stored
    assert got[2] == {"x": values}
    assert [math.copysign(1, v) for v in got[2]["x"]] == [math.copysign(1, v) for v in values]
