"""``esimdesk usage import FILE``: CDR files in chunks, re-runnable, clear errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from esimdesk import cli
from esimdesk.core import clock
from esimdesk.usage import models
from esimdesk.usage.management.commands import usage_import
from tests.builders import make_esim, period_of
from tests.usage.helpers import START, data_of

pytestmark = pytest.mark.django_db


def test_import_is_chunked_and_rerunnable(db: None, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(usage_import, "CHUNK", 7)  # several chunks from a small file
    clock.set_now(START)
    esim = make_esim(n=1, data=10**9)
    period = period_of(esim)
    at = (START + dt.timedelta(minutes=1)).isoformat()
    clock.set_now(START + dt.timedelta(hours=1))
    lines = ["id,iccid,kind,quantity,occurred_at"]
    lines += [f"c{i},{esim.iccid},data,10,{at}" for i in range(20)]
    lines += [f"bad,{esim.iccid},data,-1,{at}", "", f"c0,{esim.iccid},data,10,{at}"]
    cdr = tmp_path / "cdr.csv"
    cdr.write_text("\n".join(lines) + "\n")
    assert cli.main(["usage", "import", str(cdr)]) == 0
    out, err = capsys.readouterr()
    assert "read 22, accepted 20, duplicates 1, rejected 1" in out
    assert "line 22: invalid_quantity" in err
    assert "records read" in err
    assert data_of(period)[0][2] == 200
    assert cli.main(["usage", "import", str(cdr)]) == 0
    out, _ = capsys.readouterr()
    assert "read 22, accepted 0, duplicates 21, rejected 1" in out
    assert data_of(period)[0][2] == 200
    assert models.UsageEvent.objects.filter(source="cdr").count() == 20


def test_bad_files_fail_with_one_line(db: None, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["usage", "import", str(tmp_path / "missing.csv")]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b,c\n1,2,3\n")
    assert cli.main(["usage", "import", str(wrong)]) == 1
    err = capsys.readouterr().err.strip()
    assert "header must be id,iccid,kind,quantity,occurred_at" in err
    assert "\n" not in err
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert cli.main(["usage", "import", str(binary)]) == 1
