"""Bad claims files: one located error, nothing judged. And what a good file becomes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.claims import read_claims
from pipeline.errors import InputError

HEADER = "claim_id,date_of_service,code,modifiers,units\n"


def write(tmp_path: Path, text: str | bytes, name: str = "claims.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        (HEADER + "A,2025-02-30,97110,GP,1\n", "line 2, column date_of_service", "not a date"),
        (HEADER + "A,02/03/25,97110,GP,1\n", "line 2, column date_of_service", "not a date"),
        (
            HEADER + "A,2025-02-03,97110,GP,1\nB,2025-02-03,9711,GP,1\n",
            "line 3, column code",
            "'9711'",
        ),
        (HEADER + "A,2025-02-03,Z9999,GP,1\n", "line 2, column code", "CPT"),
        (HEADER + "A,2025-02-03,97110,GP,-1\n", "line 2, column units", "'-1'"),
        (HEADER + "A,2025-02-03,97110,GP,1.5\n", "line 2, column units", "whole number"),
        (HEADER + "A,2025-02-03,97110,GP,0\n", "line 2, column units", "1 or more"),
        (HEADER + "A,2025-02-03,97110,GP 59 XU KX CQ,1\n", "line 2, column modifiers", "up to 4"),
        ("claim_id,date_of_service,code,units\nA,2025-02-03,97110,1\n", "line 1", "'modifiers'"),
        (
            "claim_id,date_of_service,code,modifiers,units,patient_name\n",
            "line 1, column 6",
            "unknown column 'patient_name'",
        ),
        (HEADER, "line 2", "no claim lines"),
        ("", "claims.csv", "file is empty"),
        (HEADER + "A,2025-02-03,97110,GP,1\nB,2025-02-03,97110,GP,1,x\n", "line 3", "found 6"),
    ],
)
def test_bad_input_is_one_located_error(tmp_path: Path, body: str, where: str, what: str) -> None:
    with pytest.raises(InputError) as caught:
        read_claims(write(tmp_path, body))
    message = str(caught.value)
    assert message.startswith("claims.csv"), message
    assert where in message and what in message, message
    assert "\n" not in message


def test_wrong_encoding_names_line_and_column(tmp_path: Path) -> None:
    body = (HEADER + "A,2025-02-03,97110,GP,1\nCaf\xe9,2025-02-03,97110,GP,1\n").encode("latin-1")
    with pytest.raises(InputError, match=r"line 3, column 4: byte 0xe9 is not UTF-8"):
        read_claims(write(tmp_path, body))


def test_a_good_file_typed_with_optional_columns(tmp_path: Path) -> None:
    text = (
        "\ufeffClaim_ID,date_of_service,code,modifiers,units,diagnosis_codes,charge\r\n"
        'A,02/03/2025,97110,"gp, 59",2,M54.50;m17.11,=1+1\r\n'
    )
    with pytest.raises(InputError, match="column charge"):
        read_claims(write(tmp_path, text))
    lines = read_claims(write(tmp_path, text.replace("=1+1", "80.00")))
    row = lines.row(0, named=True)
    assert row["date_of_service"] == date(2025, 2, 3)
    assert row["modifiers"] == ["GP", "59"]
    assert row["diagnosis_codes"] == ["M5450", "M1711"]
    assert row["place_of_service"] is None and str(row["charge"]) == "80.00"
    assert row["_line"] == 2
