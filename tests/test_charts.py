"""The server-drawn charts: well-formed SVG whose shapes are the numbers, with an accessible name."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from apikeys.console.charts import HEIGHT, SPARK_BAR, SPARK_HEIGHT, sparkline, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"
BAR = re.compile(r"M(\d+) (\d+)h(\d+)v-(\d+)h-(\d+)z")


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def bars_of(path: ET.Element | None) -> dict[int, int]:
    """x -> height of each bar a path draws."""
    if path is None:
        return {}
    found = {}
    for x, bottom, width, height, back in BAR.findall(path.get("d")):
        assert int(bottom) == SPARK_HEIGHT and width == back == str(SPARK_BAR - 1)
        found[int(x)] = int(height)
    return found


def test_a_sparkline_draws_each_day_as_a_bar_scaled_to_the_busiest_and_zeros_as_ticks():
    svg = parsed(sparkline([0, 5, 10, 0, 1, 40, 20], "Requests in the last 7 days: 0, 5, 10, 0, 1, 40, 20"))

    assert svg.get("role") == "img" and svg.get("aria-label").startswith("Requests in the last 7 days")
    assert svg.get("viewBox") == f"0 0 {7 * SPARK_BAR} {SPARK_HEIGHT}"
    used = svg.find(f"{SVG}path[@d]")
    zero = svg.find(f"{SVG}path[@class='zero']")
    assert used.get("class") is None
    assert bars_of(used) == {1 * SPARK_BAR: 2, 2 * SPARK_BAR: 4, 4 * SPARK_BAR: 1, 5 * SPARK_BAR: 16, 6 * SPARK_BAR: 8}
    assert bars_of(zero) == {0: 1, 3 * SPARK_BAR: 1}


def test_a_sparkline_of_no_requests_is_a_row_of_ticks_and_of_only_requests_has_no_ticks():
    idle = parsed(sparkline([0] * 7, "none"))
    assert len(idle) == 1 and bars_of(idle[0]) == {i * SPARK_BAR: 1 for i in range(7)}
    busy = parsed(sparkline([3] * 7, "busy"))
    assert len(busy) == 1 and bars_of(busy[0]) == {i * SPARK_BAR: SPARK_HEIGHT for i in range(7)}


def test_stacked_bars_put_refusals_on_successes_scaled_to_the_tallest_with_a_tooltip_each():
    svg = parsed(stacked_bars([("Mon", 30, 10), ("Tue", 0, 0), ("Wed", 10, 0)], 'Requests <per> "day"'))

    assert svg.get("aria-label") == 'Requests <per> "day"'
    groups = svg.findall(f"{SVG}g")
    assert [g.find(f"{SVG}title").text for g in groups] == [
        "Mon: 30 successful, 10 refused",
        "Tue: 0 successful, 0 refused",
        "Wed: 10 successful, 0 refused",
    ]
    ok, refused, _ = groups[0].findall(f"{SVG}rect")
    assert float(ok.get("height")) == (HEIGHT - 2) * 3 / 4 and float(refused.get("height")) == (HEIGHT - 2) / 4
    assert float(refused.get("y")) + float(refused.get("height")) == float(ok.get("y"))  # stacked on top
    assert float(groups[2].find(f"{SVG}rect").get("height")) == (HEIGHT - 2) * 10 / 40
