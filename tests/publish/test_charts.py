"""Charts: the min/max decimation of long daily series keeps what a reader sees (every bucket's
first, last, lowest and highest points), and the hand-drawn axes carry matplotlib's ticks."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.dates import AutoDateFormatter, AutoDateLocator, date2num
from matplotlib.ticker import MaxNLocator

from indexcalc import analytics
from indexcalc.publish import charts


def test_decimation_keeps_first_last_and_the_extremes_of_each_bucket():
    days = np.arange(12)
    values = np.array([5.0, 9.0, 1.0, 4.0, 8.0, 6.0, 3.0, 7.0, 2.0, 10.0, 0.0, 4.0])
    # two buckets of 12 / 2 = 6 days: days 0-5 and 6-11
    # bucket 0: first 0, last 5, lowest 2 (1.0), highest 1 (9.0)
    # bucket 1: first 6, last 11, lowest 10 (0.0), highest 9 (10.0)
    kept = charts.min_max_decimation(days, values, buckets=2)
    assert kept.tolist() == [0, 1, 2, 5, 6, 9, 10, 11]


def test_decimation_buckets_follow_the_calendar_and_keep_the_earliest_of_equal_minima():
    # business days with a weekend gap: days 0-4 and 7-11, span 12 days, 2 buckets of 6 days
    days = np.array([0, 1, 2, 3, 4, 7, 8, 9, 10, 11])
    values = np.array([2.0, 1.0, 3.0, 1.0, 2.0, 5.0, 5.0, 4.0, 6.0, 5.5])
    # bucket 0 (days 0-5): first 0, last 4 (day 4), lowest 1 (day 1, before the equal day 3),
    # highest 2; bucket 1 (days 6-11): first 5, last 9, lowest 7 (4.0), highest 8 (6.0)
    kept = charts.min_max_decimation(days, values, buckets=1 + 1)
    assert kept.tolist() == [0, 1, 2, 4, 5, 7, 8, 9]


def test_short_or_non_finite_series_are_kept_whole():
    assert charts.min_max_decimation(np.arange(8), np.arange(8.0), buckets=2).tolist() == list(range(8))
    values = np.arange(20.0)
    values[3] = np.nan
    assert charts.min_max_decimation(np.arange(20), values, buckets=2).tolist() == list(range(20))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=400),
    st.lists(st.floats(-1e6, 1e6), min_size=400, max_size=400),
    st.integers(1, 40),
)
@pytest.mark.slow
def test_decimated_series_has_the_same_first_last_min_and_max_in_every_bucket(gaps, pool, buckets):
    days = np.cumsum(np.array(gaps)) - gaps[0]
    values = np.array(pool[: len(days)])
    kept = charts.min_max_decimation(days, values, buckets)
    assert np.all(np.diff(kept) > 0)
    assert kept[0] == 0 and kept[-1] == len(days) - 1
    full = pl.DataFrame({"bucket": days * buckets // (days[-1] + 1), "value": values})
    shown = full[kept.tolist()]
    if len(days) > 4 * buckets:
        assert len(kept) <= 4 * full.get_column("bucket").n_unique()

    def per_bucket(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.group_by("bucket").agg(
            pl.col("value").first().alias("first"), pl.col("value").last().alias("last"),
            pl.col("value").min().alias("min"), pl.col("value").max().alias("max"),
        ).sort("bucket")

    assert per_bucket(shown).equals(per_bucket(full))


def long_random_levels(days: int = 8000, seed: int = 3) -> pl.DataFrame:
    dates = pl.date_range(dt.date(1995, 1, 3), dt.date(1995, 1, 3) + dt.timedelta(days=days * 7 // 5 + 10),
                          interval="1d", eager=True)
    dates = dates.filter(dates.dt.weekday() <= 5).head(days)
    returns = np.random.default_rng(seed).normal(0.0002, 0.01, dates.len())
    return pl.DataFrame({"date": dates, "level": 100.0 * np.cumprod(1.0 + returns)})


def test_long_level_and_drawdown_series_are_decimated_with_their_extremes_kept():
    levels = long_random_levels()
    plot_width = charts.LINE_WIDTH - charts.LINE_MARGINS[0] - charts.LINE_MARGINS[1]
    dates, values = charts._decimated(levels, "level", plot_width)
    assert len(values) < levels.height / 2
    assert values.max() == levels.get_column("level").max() and values.min() == levels.get_column("level").min()
    assert dates[0] == levels.get_column("date").to_numpy()[0] and dates[-1] == levels.get_column("date").to_numpy()[-1]
    _, depths = charts._decimated(analytics.drawdowns(levels), "drawdown", plot_width)
    assert depths.min() == analytics.max_drawdown(levels).depth
    # every return to a new high (drawdown 0) between the first and last drawdown stays drawn
    assert (depths == 0.0).sum() >= 2


def svg_texts(svg: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", text).strip() for text in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)]


def test_line_chart_axes_show_matplotlibs_tick_labels():
    levels = long_random_levels(days=2000)
    svg = charts.level_chart(levels)
    texts = svg_texts(svg)
    dates = levels.get_column("date")
    low, high = levels.get_column("level").min(), levels.get_column("level").max()
    # the y labels of the log scale: a narrow range (high / low < 4) gets MaxNLocator(5) inside
    # the view (data range plus matplotlib's 5% margins, taken on the log scale), written in full
    assert high / low < 4
    ratio = (high / low) ** 0.05
    bottom, top = low / ratio, high * ratio
    expected_y = [value for value in MaxNLocator(5).tick_values(bottom, top) if bottom <= value <= top]
    assert len(expected_y) >= 3
    assert all(f"{value:,.0f}" in texts for value in expected_y), (expected_y, texts)
    # the x labels: the yearly ticks of the automatic date locator
    locator = AutoDateLocator()
    first, last = (dt.datetime.combine(day, dt.time()) for day in (dates[0], dates[-1]))
    span = (last - first) * 0.01
    view = date2num([first - span, last + span])
    checked = 0
    for tick in locator.tick_values(first - span, last + span):
        if not view[0] <= tick <= view[1]:
            continue
        label = AutoDateFormatter(locator)(tick)
        assert label in texts, (label, texts)
        checked += 1
    assert checked >= 3
    assert "index level (log scale)" in texts
    assert svg.startswith('<svg class="chart" role="img" aria-label="Index level since inception"')


def test_chart_ids_are_prefixed_with_the_chart_name():
    svg = charts.drawdown_chart(analytics.drawdowns(long_random_levels(days=300)), name="dd")
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(identifier.startswith("dd-") for identifier in ids)
    references = re.findall(r'(?:url\(#|href="#)([^"\)]+)', svg)
    assert all(reference in ids for reference in references)


def test_monthly_heatmap_embeds_the_grid_unsampled_with_its_colour_bar():
    levels = long_random_levels(days=600).with_columns(pl.lit(0.0).alias("daily_return"))
    monthly = analytics.monthly_returns(levels)
    svg = charts.monthly_heatmap(monthly)
    # the grid (one pixel per month) and the colour bar, both drawn with crisp pixels
    images = re.findall(r"<image [^>]*>", svg)
    assert len(images) == 2 and all("image-rendering:pixelated" in image for image in images)
    grid_width = re.search(r'width="(\d+)" height="(\d+)"', images[0]).groups()
    assert grid_width == ("12", str(monthly.get_column("year").n_unique()))
    # scale: the 98th percentile of |monthly return| in percent, rounded up, at -b, -b/2, 0, b/2, b
    bound = float(np.ceil(np.percentile(np.abs(monthly.get_column("monthly_return").to_numpy() * 100), 98)))
    texts = svg_texts(svg)
    assert "monthly return (%)" in texts
    for tick in (bound, bound / 2, 0.0):
        assert f"{tick:g}" in texts
    assert f"{-bound:g}" in texts or f"\N{MINUS SIGN}{bound:g}" in texts


def test_level_labels_are_written_in_full_without_an_offset():
    # levels within 5 points of a million: a reader sees "1,000,004", not "4" and "+1e6"
    dates = pl.date_range(dt.date(2020, 1, 1), dt.date(2020, 12, 31), "1d", eager=True)
    levels = pl.DataFrame({"date": dates, "level": 1e6 + np.linspace(0.0, 5.0, dates.len())})
    texts = svg_texts(charts.level_chart(levels))
    assert "+1e6" not in texts and any(re.fullmatch(r"1,000,00\d", text) for text in texts), texts


def test_level_chart_draws_the_reference_and_shades_the_back_test():
    levels = long_random_levels(days=600)
    reference = levels.with_columns(pl.col("level") * 2.0)
    launch = levels.get_column("date")[300]
    svg = charts.level_chart(levels, reference=reference, reference_label="LO-ER", launch_date=launch, label="LS-ER")
    texts = svg_texts(svg)
    assert "LO-ER" in texts and "LS-ER" in texts and "back-tested" in texts
    assert "back-tested" not in svg_texts(charts.level_chart(levels, reference=reference))


def test_charts_state_the_phone_font_that_renders_at_ten_pixels():
    svg = charts.level_chart(long_random_levels(days=300))
    # 7.5 inches = 540 units drawn 366 px wide: 10.5 px needs 10.5 * 540 / 366 = 15.5 units
    assert 'style="--phone-font: 15.5px"' in svg


def _svg_images(svg: str) -> list[np.ndarray]:
    import base64
    import io

    from PIL import Image

    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
            for data in re.findall(r'data:image/png;base64,\s*([A-Za-z0-9+/=]+)', svg)]


def _svg_text_places(svg: str) -> list[tuple[str, float, float]]:
    places = []
    for attributes, text in re.findall(r"<text([^>]*)>([^<]*)</text>", svg):
        translate = re.search(r"translate\(([-\d.]+) ([-\d.]+)\)", attributes)
        if translate:
            x, y = (float(value) for value in translate.groups())
        else:
            x = float(re.search(r'\sx="([-\d.]+)"', attributes).group(1))
            y = float(re.search(r'\sy="([-\d.]+)"', attributes).group(1))
        places.append((text, x, y, bool(translate)))
    return sorted(places)


@pytest.mark.parametrize("years", [3, 8, 12, 30])
def test_fast_monthly_heatmap_draws_what_matplotlib_draws(years):
    """The oracle: the SVG written directly has matplotlib's viewBox, the same cell and colour
    bar images pixel for pixel, and the same texts at the same places (x exact, the baseline
    within 1.5 units: matplotlib measures each string, the fast path uses DejaVu's digit height)."""
    levels = long_random_levels(days=int(years * 261))
    monthly = analytics.monthly_returns(levels)
    fast, slow = charts.monthly_heatmap(monthly), charts.monthly_heatmap_matplotlib(monthly)
    view = re.compile(r'viewBox="([^"]+)"')
    assert view.search(fast).group(1) == view.search(slow).group(1)
    fast_images, slow_images = _svg_images(fast), _svg_images(slow)
    assert len(fast_images) == len(slow_images) == 2
    for mine, theirs in zip(fast_images, slow_images):
        assert mine.shape == theirs.shape and np.array_equal(mine, theirs)
    mine, theirs = _svg_text_places(fast), _svg_text_places(slow)
    assert [place[0] for place in mine] == [place[0] for place in theirs]
    for (text, x, y, turned), (_, expected_x, expected_y, _) in zip(mine, theirs):
        if turned:  # the colour bar's title: matplotlib anchors its start, the fast path its middle
            assert x == pytest.approx(expected_x, abs=1.5), text
            continue
        assert x == pytest.approx(expected_x, abs=0.01), text  # along the text: exact
        assert y == pytest.approx(expected_y, abs=1.5), text  # the baseline: within 1.5 units


def _bars(svg: str) -> list[tuple[str, float, float, float, float]]:
    """Filled rectangles of the long/short colours as ``(colour, x, y, width, height)``."""
    found = []
    for x, y, width, height, colour in re.findall(
            r'<rect x="([-\d.]+)" y="([-\d.]+)" width="([-\d.]+)" height="([-\d.]+)" fill="(#[0-9a-f]{6})"', svg):
        found.append((colour, float(x), float(y), float(width), float(height)))
    for path, colour in re.findall(r'<path d="([^"]+)"[^>]*style="fill: (#[0-9a-f]{6})', svg):
        numbers = [float(number) for number in re.findall(r"[-\d.]+", path)]
        xs, ys = numbers[0::2], numbers[1::2]
        if colour in (charts.UP_COLOUR, charts.DRAWDOWN_COLOUR) and max(xs) - min(xs) > 1e-6:
            found.append((colour, min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    return sorted(found)


@pytest.mark.parametrize("longs, shorts", [
    ([0.0056, 0.2625, 0.0459, 0.0021, 0.0004], [-0.1808, 0.0, -0.0604, -0.1828, -0.0955]),
    ([1.0], [0.0]),
    ([0.3, 0.2], [-0.05, -0.4]),
])
def test_fast_sector_chart_draws_what_matplotlib_draws(longs, shorts):
    labels = ["Base metals", "Energy", "Grains", "Precious metals", "Softs"][:len(longs)]
    table = pl.DataFrame({"sector": labels, "label": labels, "long": longs, "short": shorts})
    fast, slow = charts.sector_chart(table), charts.sector_chart_matplotlib(table)
    view = re.compile(r'viewBox="([^"]+)"')
    assert view.search(fast).group(1) == view.search(slow).group(1)
    mine, theirs = _bars(fast), _bars(slow)
    assert len(mine) == len(theirs) == sum(value != 0 for value in longs + shorts)
    for bar, expected in zip(mine, theirs):
        assert bar[0] == expected[0] and bar[1:] == pytest.approx(expected[1:], abs=0.01)
    mine_texts, their_texts = _svg_text_places(fast), _svg_text_places(slow)
    assert [place[0] for place in mine_texts] == [place[0] for place in their_texts]
    assert "-0%" not in [place[0] for place in mine_texts]
    for (text, x, y, _), (_, expected_x, expected_y, _) in zip(mine_texts, their_texts):
        assert x == pytest.approx(expected_x, abs=0.01), text
        assert y == pytest.approx(expected_y, abs=1.5), text


def _stroke_bounds(svg: str, colour: str) -> tuple[float, float, float, float]:
    """Bounding box of the stroked paths of ``colour`` (matplotlib's style or attributes)."""
    xs, ys = [], []
    for path in re.findall(r'<path[^>]*\sd="([^"]+)"[^>]*(?:stroke: ' + colour + r'|stroke="' + colour + r'")',
                           svg):
        numbers = [float(number) for number in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", path)]
        if len(numbers) <= 6:  # a legend handle (a few points on one line): not the data line
            continue
        xs += numbers[0::2]
        ys += numbers[1::2]
    return min(xs), max(xs), min(ys), max(ys)


def _tick_texts(svg: str) -> list[tuple[str, float, float, bool]]:
    return [place for place in _svg_text_places(svg) if place[0].strip() not in ("LO-ER", "LS-ER", "back-tested")]


@pytest.mark.parametrize("days, with_reference", [(600, False), (2000, True), (8000, True)])
def test_fast_line_charts_draw_what_matplotlib_draws(days, with_reference):
    """The oracle of the line charts: same viewBox, the same tick labels at the same places
    (along the axis to 0.01 units, across within 1.5), the data lines spanning the same box to
    0.5 units (matplotlib simplifies its path, the fast path draws every decimated point)."""
    levels = long_random_levels(days=days)
    reference = long_random_levels(days=days, seed=5) if with_reference else None
    launch = levels.get_column("date")[days // 2]
    pairs = [
        (charts.level_chart(levels, reference=reference, reference_label="LO-ER", launch_date=launch, label="LS-ER"),
         charts.level_chart_matplotlib(levels, reference=reference, reference_label="LO-ER", launch_date=launch,
                                       label="LS-ER"), [charts.LINE_COLOUR] + ([charts.REFERENCE_COLOUR] * bool(reference is not None))),
        (charts.drawdown_chart(analytics.drawdowns(levels)),
         charts.drawdown_chart_matplotlib(analytics.drawdowns(levels)), [charts.DRAWDOWN_COLOUR]),
    ]
    view = re.compile(r'viewBox="([^"]+)"')
    for fast, slow, colours in pairs:
        assert view.search(fast).group(1) == view.search(slow).group(1)
        mine, theirs = _tick_texts(fast), _tick_texts(slow)
        assert [place[0] for place in mine] == [place[0] for place in theirs]
        for (text, x, y, turned), (_, expected_x, expected_y, _) in zip(mine, theirs):
            if turned:
                assert x == pytest.approx(expected_x, abs=1.5), text
            elif re.fullmatch(r"\d{4}", text):  # a date label: exact along the x axis
                assert x == pytest.approx(expected_x, abs=0.01) and y == pytest.approx(expected_y, abs=1.5), text
            else:  # a value label: exact along the y axis (its baseline within 1.5)
                assert x == pytest.approx(expected_x, abs=0.01) and y == pytest.approx(expected_y, abs=1.5), text
        for colour in colours:
            assert _stroke_bounds(fast, colour) == pytest.approx(_stroke_bounds(slow, colour), abs=0.5), colour
    assert "back-tested" in svg_texts(pairs[0][0]) and "back-tested" in svg_texts(pairs[0][1])
    if reference is not None:
        assert {"LO-ER", "LS-ER"} <= set(svg_texts(pairs[0][0])) & set(svg_texts(pairs[0][1]))


def _decimation_by_sorting(days: np.ndarray, values: np.ndarray, buckets: int) -> np.ndarray:
    """The decimation's definition written with a stable sort of each bucket by value (its
    first row is the bucket's earliest minimum, its last row the latest maximum): the oracle of
    the one-pass version."""
    count = len(values)
    if count <= 4 * buckets or not np.all(np.isfinite(values)):
        return np.arange(count)
    bucket = (days - days[0]) * buckets // (int(days[-1] - days[0]) + 1)
    starts = np.flatnonzero(np.diff(bucket, prepend=-1))
    ends = np.append(starts[1:], count) - 1
    by_value = np.lexsort((values, bucket))
    return np.unique(np.concatenate([starts, ends, by_value[starts], by_value[ends]]))


@pytest.mark.parametrize("seed", range(4))
def test_decimation_equals_the_sorting_definition_with_ties(seed):
    rng = np.random.default_rng(seed)
    days = np.cumsum(rng.integers(1, 4, size=3000))
    # rounded values tie often; drawdown-like series sit at 0 for long runs
    for values in (np.round(rng.normal(size=3000), 1), np.minimum(0.0, np.round(rng.normal(size=3000))),
                   np.cumsum(rng.normal(size=3000))):
        for buckets in (1, 7, 100, 700):
            assert charts.min_max_decimation(days, values, buckets).tolist() == \
                _decimation_by_sorting(days, values, buckets).tolist()


def test_two_decimals_writes_what_python_formatting_writes():
    python = lambda numbers: " ".join(f"{x:.2f}" for x in numbers.tolist())  # noqa: E731
    # hand cases: halves that are exact in binary round to even (0.125 -> 0.12), those that are
    # not round by their binary value (2.675 is 2.67499.. -> 2.67), small negatives keep "-"
    assert charts.two_decimals(np.array([0.125, -0.125, 2.675, 1.005, -0.001, 0.0, 12.3])) == \
        "0.12 -0.12 2.67 1.00 -0.00 0.00 12.30"
    assert charts.two_decimals(np.array([])) == ""
    assert charts.two_decimals(np.array([np.nan, 1.0])) == "nan 1.00"
    assert charts.two_decimals(np.array([3e8, -1.5])) == "300000000.00 -1.50"
    rng = np.random.default_rng(7)
    for scale in (0.01, 1.0, 600.0, 1e7):
        numbers = rng.normal(size=2000) * scale
        assert charts.two_decimals(numbers) == python(numbers)
        halves = np.round(numbers * 200.0) / 200.0  # many exact and near ties
        assert charts.two_decimals(halves) == python(halves)
