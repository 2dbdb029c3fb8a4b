"""The pure parts of a screen edit of configuration: the admin's field form, adding/replacing/
removing a custom field, and the before -> after diff the preview shows."""

from __future__ import annotations

from typing import Any

from orderdesk.config.edits import Preview, field_from_form, with_field, without_field


def test_field_form_reads_options_in_any_separator_and_drops_blanks() -> None:
    form = {"key": " site ", "label": "实施地点", "type": "enum", "required": "1"}
    form["options"] = "上海,北京\n深圳, ,"
    assert field_from_form(form) == {
        "key": "site",
        "label": "实施地点",
        "type": "enum",
        "required": True,
        "options": ["上海", "北京", "深圳"],
    }
    # Unchecked "required" and empty options are simply absent (the schema's defaults).
    assert field_from_form({"key": "note", "label": "备注", "type": "text"}) == {
        "key": "note",
        "label": "备注",
        "type": "text",
    }


def test_with_field_appends_or_replaces_by_key() -> None:
    field: dict[str, Any] = {
        "key": "a",
        "label": "A",
        "type": "enum",
        "required": True,
        "options": ["x"],
    }
    item: dict[str, Any] = {"code": "impl", "fields": [{**field, "max": 3}]}
    added = with_field(item, {"key": "b", "label": "B", "type": "string"})
    assert [f["key"] for f in added["fields"]] == ["a", "b"]
    # Same key: replaced in place; what the form no longer sets (required, options) goes, what
    # the form does not know (max) stays.
    changed = with_field(item, {"key": "a", "label": "甲", "type": "string"})
    assert changed["fields"] == [{"key": "a", "label": "甲", "type": "string", "max": 3}]
    assert item["fields"][0]["label"] == "A"  # the original is not touched
    assert without_field(added, "a")["fields"] == [{"key": "b", "label": "B", "type": "string"}]


def test_preview_diff_lists_removed_and_added_lines_only_once() -> None:
    before = "code: impl\nname: 实施\nfields: []\n"
    after = "code: impl\nname: 实施\nfields:\n- key: site\n"
    p = Preview("order_types", "impl", before, after, "t")
    assert p.changed
    assert "-fields: []" in p.diff and "+fields:" in p.diff and "+- key: site" in p.diff
    assert not any(line.startswith(("---", "+++")) for line in p.diff)
    assert not Preview("order_types", "impl", before, before, "t").changed
