"""How results are cut for the job page: by kind, following the result convention."""

import pytest

from webapp.present import MAX_TABLE_ROWS, result_view, when

PNG = {"name": "chart.png", "content_type": "image/png", "size": 10, "url": "/api/jobs/x/files/chart.png"}
CSV = {"name": "rows.csv", "content_type": "text/csv", "size": 10, "url": "/api/jobs/x/files/rows.csv"}


def view(result, files=()):
    return result_view({"result": result, "files": list(files)})


def test_a_table_is_taken_out_and_plain_values_become_labelled_cards():
    v = view({"checked": 1200, "ok": True, "table": {"columns": ["a"], "rows": [[1]]}, "extra": [1, 2]})
    assert v["table"]["columns"] == ["a"] and v["table"]["rows"] == [[1]]
    assert v["fields"] == [("Checked", "1,200", "num"), ("Ok", "yes", "text")]
    assert v["data"] == {"checked": 1200, "ok": True, "extra": [1, 2]} and v["fold_json"]


def test_a_long_table_is_cut_and_says_so():
    v = view({"table": {"columns": ["n"], "rows": [[i] for i in range(MAX_TABLE_ROWS + 5)]}})
    assert len(v["table"]["rows"]) == MAX_TABLE_ROWS and v["table"]["hidden"] and v["table"]["total"] == 1005


@pytest.mark.parametrize("table", [{"columns": "a", "rows": []}, {"columns": ["a"], "rows": [1, 2]}, "rows"])
def test_something_that_is_not_a_table_stays_json(table):
    v = view({"table": table})
    assert v["table"] is None and v["data"] == {"table": table}


def test_png_files_are_shown_as_images_and_every_file_is_a_download():
    v = view(None, [PNG, CSV])
    assert v["images"] == [{**PNG, "alt": "chart.png", "legend": []}] and v["files"] == [PNG, CSV]
    assert v["scalar"] is None


def test_a_chart_takes_its_title_alt_text_and_legend_from_the_result_and_only_hex_colours():
    legend = [{"colour": "#1f77b4", "label": "1: fruit"}, {"colour": "red;background:url(x)", "label": "2"}]
    chart = {"file": "chart.png", "title": "Two groups", "alt": "5 points in 2 clusters", "legend": legend}
    v = view({"charts": [chart], "table": {"columns": ["a"], "rows": [[1]]}}, [PNG])
    (image,) = v["images"]
    assert image["title"] == "Two groups" and image["alt"] == "5 points in 2 clusters"
    assert image["legend"] == legend[:1] and image["url"] == PNG["url"]
    assert v["data"] is None  # the description is shown as the chart, not again as JSON


def test_rows_with_an_error_are_marked_as_problems():
    v = view({"table": {"columns": ["url", "error"], "rows": [["a", ""], ["b", "HTTP 404"], ["c", None]]}})
    assert v["table"]["problems"] == [False, True, False]


@pytest.mark.parametrize(
    ("result", "scalar"), [("done", "done"), (42, 42), (None, "The job finished without a result.")]
)
def test_a_bare_value_or_nothing_reads_as_a_sentence(result, scalar):
    assert view(result)["scalar"] == scalar


def test_nested_data_without_plain_values_is_shown_as_json():
    v = view({"groups": [[1, 2], [3]]})
    assert v["fields"] == [] and not v["fold_json"] and v["data"] == {"groups": [[1, 2], [3]]}


@pytest.mark.parametrize(
    ("iso", "machine"),
    [
        ("2026-05-01T10:20:30.481580Z", "2026-05-01T10:20:30.481Z"),
        ("2026-05-01T10:20:30+00:00", "2026-05-01T10:20:30.000Z"),
        ("2026-05-01T12:20:30.5+02:00", "2026-05-01T10:20:30.500Z"),
    ],
)
def test_a_time_s_machine_form_stops_at_milliseconds_in_utc(iso, machine):
    assert f'datetime="{machine}"' in when(iso)
