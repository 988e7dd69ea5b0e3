"""The mapping language reports problems a person can act on: file, line, key path, hint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrate.errors import SpecErrors
from migrate.spec.loader import load_mapping, load_project

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"

GOOD = """\
entity: ap_invoices
domain: finance
source:
  system: finance
  table: APINVHDR
  key: [INV_ID]
target:
  table: AP_INVOICES_INTERFACE
  key: [INVOICE_ID]
fields:
  INVOICE_NUM:
    from: INV_NO
    steps: [strip, upper]
  INVOICE_AMOUNT:
    from: INV_AMT
    steps: [{money: fixed}]
"""


def _write(tmp_path: Path, text: str, name: str = "ap_invoices.yaml") -> Path:
    path = tmp_path / "finance" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        load_mapping(path, path.parents[1])
    return [str(e) for e in info.value.errors]


def test_good_mapping_loads(tmp_path: Path) -> None:
    loaded = load_mapping(_write(tmp_path, GOOD), tmp_path)
    assert loaded.spec.fields["INVOICE_AMOUNT"].steps[0].name == "money"
    assert len(loaded.sha256) == 64


def test_unknown_transform_points_at_line_with_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("[strip, upper]", "[strp, upper]"))
    (msg,) = _errors(path)
    assert msg == (
        f"{tmp_path.name}/finance/ap_invoices.yaml:13 fields.INVOICE_NUM.steps.0: "
        "unknown step 'strp' (did you mean 'strip'?)"
    )


def test_unknown_key_suggests_the_known_one(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("    from: INV_NO", "    form: INV_NO"))
    msgs = _errors(path)
    assert any(
        ":12 fields.INVOICE_NUM.form: unknown key 'form' (did you mean 'from'?)" in m for m in msgs
    ), msgs


def test_bad_step_argument_is_located(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("{money: fixed}", "{money: {encodng: fixed}}"))
    (msg,) = _errors(path)
    assert ":16 fields.INVOICE_AMOUNT.steps.0" in msg
    assert "unknown argument 'encodng' (did you mean 'encoding'?)" in msg


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    text = GOOD + "  INVOICE_NUM:\n    from: INV_NO\n"
    path = _write(tmp_path, text)
    with pytest.raises(Exception) as info:
        load_mapping(path, tmp_path)
    assert "duplicate key 'INVOICE_NUM' (first defined on line 11)" in str(info.value)
    assert ":17 " in str(info.value)


def test_two_rules_for_one_target_column(tmp_path: Path) -> None:
    text = GOOD.replace(
        "fields:\n",
        "issues_keys: {domain: ap_invoice, column: INVOICE_NUM, legacy: [INV_ID]}\nfields:\n",
    )
    (msg,) = _errors(_write(tmp_path, text))
    assert "two rules write target column 'INVOICE_NUM'" in msg


def test_a_personal_column_cannot_be_the_key(tmp_path: Path) -> None:
    """Keys name rows, unmasked, in rejects, reports and logs: a key marked personal is
    refused where it is marked."""
    text = GOOD.replace("key: [INV_ID]", "key: [TAX_ID]").replace(
        "fields:\n", "fields:\n  PAYEE_TAX_ID:\n    from: TAX_ID\n    personal: ssn\n"
    )
    with pytest.raises(SpecErrors) as err:
        load_mapping(_write(tmp_path, text))
    message = str(err.value)
    assert "ap_invoices.yaml:13 " in message and "fields.PAYEE_TAX_ID.personal" in message
    assert "reads the source key column 'TAX_ID' and is marked personal (ssn)" in message
    joined = GOOD.replace(  # the personal part of a joined field is the other column
        "fields:\n",
        "fields:\n  PAYEE_REF:\n    from: [INV_ID, TAX_ID]\n    join: '-'\n    personal: ssn\n",
    )
    spec = load_mapping(_write(tmp_path, joined))
    from migrate.lineage.masking import source_personal

    assert source_personal(spec.spec) == {"TAX_ID": "ssn"}  # the key stays unmasked
    via_expr = GOOD.replace(  # a key reached through an expression is still the key alone
        "fields:\n",
        'fields:\n  PAYEE_REF:\n    expr: "INV_ID * 1"\n    personal: ssn\n',
    )
    with pytest.raises(SpecErrors, match="reads the source key column 'INV_ID'"):
        load_mapping(_write(tmp_path, via_expr))


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("key: [INV_ID]", "key: [INV_ID", 1))
    with pytest.raises(Exception) as info:
        load_mapping(path, tmp_path)
    assert "invalid YAML" in str(info.value)
    assert "ap_invoices.yaml:" in str(info.value)


def test_every_problem_listed_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("[strip, upper]", "[strp, uper]").replace("domain: finance", "domain: fin")
    msgs = _errors(_write(tmp_path, text))
    assert len(msgs) == 3


def test_unknown_crosswalk_and_domain_in_project(tmp_path: Path) -> None:
    shutil.copytree(MAPPINGS / "crosswalks", tmp_path / "crosswalks")
    text = GOOD + (
        "  VENDOR_ID:\n    lookup: {domain: suplier, from: [VND_NO]}\n"
        "  DESCRIPTION:\n    from: DESCR\n    steps: [{crosswalk: acounts}]\n"
    )
    _write(tmp_path, text)
    _write(
        tmp_path,
        GOOD.replace("ap_invoices", "suppliers").replace(
            "fields:",
            "issues_keys: {domain: supplier, column: INVOICE_ID, legacy: [INV_ID]}\nfields:",
        ),
        name="suppliers.yaml",
    )
    with pytest.raises(SpecErrors) as info:
        load_project(tmp_path)
    text_errors = str(info.value)
    assert "unknown crosswalk 'acounts' (did you mean 'accounts'?)" in text_errors
    assert "no entity issues keys for domain 'suplier' (did you mean 'supplier'?)" in text_errors


def test_dependency_cycle_names_the_cycle(tmp_path: Path) -> None:
    a = GOOD.replace("entity: ap_invoices", "entity: alpha").replace(
        "fields:\n",
        "issues_keys: {domain: a, column: INVOICE_ID, legacy: [INV_ID]}\nfields:\n"
        "  VENDOR_ID:\n    lookup: {domain: b, from: [VND_NO]}\n",
    )
    b = GOOD.replace("entity: ap_invoices", "entity: beta").replace(
        "fields:\n",
        "issues_keys: {domain: b, column: INVOICE_ID, legacy: [INV_ID]}\nfields:\n"
        "  VENDOR_ID:\n    lookup: {domain: a, from: [VND_NO]}\n",
    )
    _write(tmp_path, a, "alpha.yaml")
    _write(tmp_path, b, "beta.yaml")
    with pytest.raises(SpecErrors) as info:
        load_project(tmp_path)
    assert "dependency cycle: alpha -> beta -> alpha" in str(info.value)


def test_shipped_mappings_load_in_dependency_order() -> None:
    project = load_project(MAPPINGS)
    order = project.order
    assert order.index("suppliers_finance") < order.index("ap_invoices")
    assert order.index("suppliers_finance") < order.index("suppliers_procurement")
    assert order.index("ap_invoices") < order.index("ap_invoice_lines")
    assert order.index("workers") < order.index("payroll_history")
    assert order.index("po_lines") < order.index("receipts")


def test_json_schema_lists_every_step() -> None:
    from migrate.spec.jsonschema import json_schema
    from migrate.spec.steps import STEP_ARGS

    text = str(json_schema())
    assert all(f"'{name}'" in text for name in STEP_ARGS)
