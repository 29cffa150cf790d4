"""Personal data at rest: sealed in the vault, never in clear anywhere in the workspace; a wrong,
missing or rotated key behaves as documented; quarantine files are masked; ages are exact."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import zipfile
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.app.importing import import_table
from tierwise.app.personal import ages_as_of, check_key, personal_fields, rotate_key
from tierwise.app.run import run_evaluation
from tierwise.app.workspace import init_workspace, open_workspace
from tierwise.cli.main import main
from tierwise.protect.keys import KeyProblem, generate_key_file
from tierwise.protect.vault import BLOCKS_FILE
from tierwise.snapshots.store import SnapshotStore

# planted values: easy to recognise, impossible to occur by chance
PHONES = ["13912345601", "13912345602", "13912345603"]
IDS = ["11010119800229001X", "110101199001010022", "110101200002290033"]
CUSTOMERS = (
    "客户号,客户姓名,证件号码,手机号,出生日期,性别,开户日期,客户经理,网点\n"
    f"C001,张三丰,{IDS[0]},{PHONES[0]},1980-02-29,男,2015-03-01,RM01,B01\n"
    f"C002,李四,{IDS[1]},{PHONES[1]},1990-01-01,女,2018-06-15,RM01,B01\n"
    f"C003,王五,{IDS[2]},{PHONES[2]},2000-02-29,男,2020-01-10,RM02,B02\n"
    # rejected: a duplicate id and an unreadable open date, both carrying personal data
    f"C003,王五二,{IDS[2]},{PHONES[2]},2000-02-29,男,2020-01-10,RM02,B02\n"
    f"C004,赵六,110101199512120044,13912345604,1995-12-12,女,2021-13-45,RM02,B02\n"
)
TXNS = ("交易流水号,客户号,交易日期,交易金额\n"
        "T1,C001,2024-01-05,100.00\nT2,C002,2024-02-05,250.50\nT3,C003,2024-02-28,80.00\nT4,C001,2024-03-01,60.00\n")
TODAY = date(2024, 6, 1)


@pytest.fixture
def ws(tmp_path):
    w = init_workspace(tmp_path / "ws", "bank")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "src" / "txn.csv").write_text(TXNS, encoding="utf-8")
    policy = w.policy_path.read_text(encoding="utf-8").replace("max_reject_rate: 0.05", "max_reject_rate: 0.5")
    w.policy_path.write_text(policy, encoding="utf-8")
    import_table(w, "customers", str(tmp_path / "src" / "customers.csv"), today=TODAY)
    import_table(w, "transactions", str(tmp_path / "src" / "txn.csv"), today=TODAY)
    return w


def strings_in(path: Path) -> list[str]:
    """Every text a file holds, decoded the way a reader would: raw bytes, Parquet values
    (decompressed), SQLite rows, the XML inside xlsx/zip files."""
    data = path.read_bytes()
    out = [data.decode("utf-8", errors="ignore"), data.decode("gb18030", errors="ignore")]
    if data[:4] == b"PAR1":
        t = pq.read_table(path)
        out += [str(v) for col in t.columns for v in col.to_pylist()]
    elif data[:16] == b"SQLite format 3\x00":
        con = sqlite3.connect(path)
        for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            out += [str(row) for row in con.execute(f'SELECT * FROM "{name}"')]
        con.close()
    elif data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out += [z.read(n).decode("utf-8", errors="ignore") for n in z.namelist()]
    return out


def clear_hits(root: Path, needles: list[str]) -> list[tuple[str, str]]:
    hits = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            text = "\n".join(strings_in(p))
            hits += [(str(p.relative_to(root)), n) for n in needles if n in text]
    return hits


def test_no_phone_or_id_number_in_clear_anywhere_in_the_workspace(ws):
    from tierwise.app.servicing import list_tasks
    from tierwise.app.servicing_generate import generate_tasks
    from tierwise.app.servicing_outbox import list_outbox

    run_evaluation(ws, date(2024, 2, 29))
    for day in (date(2024, 2, 27), date(2024, 2, 29)):   # birthday greetings by SMS: names and phone numbers
        generate_tasks(ws, on=day)
    run_evaluation(ws, date(2024, 3, 31))
    greetings = [t for t in list_tasks(ws, limit=None) if t["type"] == "birthday"]
    assert greetings and all("张三丰" in t["message"] or "王五" in t["message"] for t in greetings)  # opened
    sms = list_outbox(ws, limit=None)
    assert sms and {m["recipient"] for m in sms} <= {"139****5601", "139****5603"}
    # the scan can find them: the source files hold them in clear
    assert clear_hits(ws.root.parent / "src", PHONES[:1]) == [("customers.csv", PHONES[0])]
    assert clear_hits(ws.root, PHONES + IDS + ["13912345604", "110101199512120044"]) == []
    # and they are all still there, in the vault, for the application to open
    clear = {r["customer_id"]: r for r in personal_fields(ws).to_pylist()}
    assert [clear[c]["phone"] for c in ("C001", "C002", "C003")] == PHONES
    assert [clear[c]["id_number"] for c in ("C001", "C002", "C003")] == IDS
    assert clear["C001"]["name"] == "张三丰" and clear["C003"]["birthday"] == date(2000, 2, 29)
    assert personal_fields(ws, ["C002"]).to_pylist()[0]["phone"] == PHONES[1]
    # the analytic file has no personal column at all
    part = pq.read_schema(ws.data.table_files("customers")[0])
    assert not {"name", "phone", "id_number", "birthday", "email", "address"} & set(part.names)


def test_quarantine_is_masked_but_keeps_the_reason(ws):
    q = next(ws.quarantine.glob("*customers*.csv"))
    rows = list(csv.DictReader(io.StringIO(q.read_text(encoding="utf-8-sig"))))
    by_reason = {r["reason"]: r for r in rows}
    assert set(by_reason) == {"duplicate_in_file", "unparseable"}
    bad_date = by_reason["unparseable"]
    assert bad_date["value"] == "2021-13-45" and bad_date["开户日期"] == "2021-13-45"   # non-personal: as is
    assert bad_date["手机号"] == "139****5604" and bad_date["证件号码"] == "110***********0044"
    assert bad_date["客户姓名"] == "赵*"
    assert by_reason["duplicate_in_file"]["客户号"] == "C003"


def test_ages_are_exact_including_leap_day_birthdays(ws):
    ages = {r["customer_id"]: r["age"] for r in ages_as_of(ws, date(2024, 2, 28)).to_pylist()}
    assert ages == {"C001": 43, "C002": 34, "C003": 23}          # 29 Feb not yet reached on 28 Feb
    ages = {r["customer_id"]: r["age"] for r in ages_as_of(ws, date(2024, 2, 29)).to_pylist()}
    assert ages == {"C001": 44, "C002": 34, "C003": 24}
    rec = run_evaluation(ws, date(2024, 3, 31))
    snap = SnapshotStore(ws.snapshots).read(rec["run_id"]).select(["customer_id", "age"]).to_pylist()
    assert {r["customer_id"]: r["age"] for r in snap} == {"C001": 44, "C002": 34, "C003": 24}


def test_wrong_missing_and_tampered_keys_give_clear_errors(ws, tmp_path, capsys, monkeypatch):
    key_file = Path(ws.settings.key_file)
    good = key_file.read_text()
    # a wrong key: refused by its id, never decrypted into garbage
    other = generate_key_file(tmp_path / "other.key")
    key_file.write_text((tmp_path / "other.key").read_text())
    with pytest.raises(KeyProblem, match=f"sealed with key .* is {other.key_id}"):
        personal_fields(open_workspace(ws.root))
    assert main(["run", str(ws.root), "--as-of", "2024-03-31"]) == 2
    assert "sealed with key" in capsys.readouterr().err
    # a missing key file
    key_file.unlink()
    with pytest.raises(KeyProblem, match="key file not found"):
        personal_fields(open_workspace(ws.root))
    assert main(["key", "check", str(ws.root)]) == 2
    assert "key file not found" in capsys.readouterr().err
    key_file.write_text(good)
    # a key file inside the workspace is refused
    monkeypatch.setenv("TIERWISE_KEY_FILE", str(ws.root / "inside.key"))
    shutil.copy(key_file, ws.root / "inside.key")
    with pytest.raises(KeyProblem, match="inside the workspace"):
        personal_fields(open_workspace(ws.root))
    monkeypatch.delenv("TIERWISE_KEY_FILE")
    (ws.root / "inside.key").unlink()
    # an altered sealed block
    batch = Path(ws.data.table_files("customers")[0]).parent
    blocks = pq.read_table(batch / BLOCKS_FILE)
    blob = bytearray(blocks["sealed"][0].as_py())
    blob[40] ^= 1
    pq.write_table(blocks.set_column(2, "sealed", pa.array([bytes(blob)], pa.binary())), batch / BLOCKS_FILE)
    with pytest.raises(KeyProblem, match="altered or moved"):
        personal_fields(open_workspace(ws.root))


def test_key_rotation_reseals_everything_and_resumes(ws, tmp_path):
    before = personal_fields(ws)
    new_file = tmp_path / "new.key"
    new = generate_key_file(new_file)
    old_id = ws.keyring().current.key_id
    # a rotation stopped half-way: one vault already resealed with the new key
    from tierwise.protect.keys import KeyRing, read_key_file
    from tierwise.protect.vault import reseal
    batch = Path(ws.data.table_files("customers")[0]).parent
    sealed = pq.read_table(batch / BLOCKS_FILE)
    pq.write_table(reseal(ws.keyring(), KeyRing(new), "customers", batch.name, sealed), batch / BLOCKS_FILE)
    res = rotate_key(ws, new_file, actor="sec-officer")
    assert res["already_new"] == 1 and res["new_key_id"] == new.key_id and res["old_key_id"] == old_id
    w2 = open_workspace(ws.root)
    assert w2.settings.key_file == str(new_file.resolve())
    assert personal_fields(w2).equals(before)
    assert check_key(w2)["key_id"] == new.key_id
    # every block is now under the new key only
    assert set(pq.read_table(batch / BLOCKS_FILE)["key_id"].to_pylist()) == {new.key_id}
    assert read_key_file(new_file).key_id == new.key_id
    assert ws.store().audit_entries()[-1]["action"] == "key.rotate"
