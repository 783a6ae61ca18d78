"""The Plan page's chart: a pool's seats in use against its capacity over time,
drawn on the server as SVG from the seat ledger's steps (services/access.py
``usage_history``). Steps, not slopes: a count holds until the next change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from seatledger.domain.ledger import UsagePoint
from seatledger.domain.pools import Pool

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 36  # margins, for the axes' labels


@dataclass(frozen=True)
class Chart:
    module: str
    svg: Markup
    summary: str  # the chart in a sentence, for those who do not see it


def _path(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))


def _steps(
    points: list[UsagePoint], value: str, x_of: object, y_of: object
) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for i, point in enumerate(points):
        x, y = x_of(point.at), y_of(getattr(point, value))  # type: ignore[operator]
        if i:
            out.append((x, out[-1][1]))  # hold the previous value until this instant
        out.append((x, y))
    return out


def usage_chart(pool: Pool, points: list[UsagePoint], start: datetime, end: datetime) -> Chart:
    metered = pool.is_metered
    top = max([1] + [p.in_use for p in points] + ([] if metered else [p.capacity for p in points]))
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(at: datetime) -> float:
        return LEFT + plot_w * (at - start).total_seconds() / span

    def y_of(value: int) -> float:
        return TOP + plot_h * (1 - value / top)

    ident = f"chart-{escape(pool.module)}"
    now_in_use = points[-1].in_use if points else pool.in_use
    if metered:
        summary = (
            f"Seats in use in {pool.module} from {start:%Y-%m-%d} to {end:%Y-%m-%d} "
            f"(metered, no capacity): at most {top}, {now_in_use} now."
        )
    else:
        summary = (
            f"Seats in use against capacity in {pool.module} from {start:%Y-%m-%d} to "
            f"{end:%Y-%m-%d}: {now_in_use} of {points[-1].capacity if points else pool.capacity} "
            f"in use now; at most {max([0] + [p.in_use for p in points])} in use, capacity "
            f"between {min([p.capacity for p in points] or [pool.capacity])} and "
            f"{max([p.capacity for p in points] or [pool.capacity])}."
        )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="chart" role="img" aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(pool.module)}: seats in use and capacity</title>',
        f'<desc id="{ident}-desc">{escape(summary)}</desc>',
        # axes and the two grid lines (0 and the top)
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT + plot_w}" y2="{TOP}" class="grid"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{top}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h + 4}" text-anchor="end">0</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 12}">{start:%Y-%m-%d}</text>',
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 12}" text-anchor="end">{end:%Y-%m-%d}</text>',
    ]
    if points:
        used = _steps(points, "in_use", x_of, y_of)
        area = [*used, (used[-1][0], y_of(0)), (used[0][0], y_of(0))]
        parts.append(f'<path d="{_path(area)} Z" class="in-use"/>')
        parts.append(f'<path d="{_path(used)}" class="in-use-line"/>')
        if not metered:
            parts.append(
                f'<path d="{_path(_steps(points, "capacity", x_of, y_of))}" class="capacity"/>'
            )
    parts.append("</svg>")
    return Chart(pool.module, Markup("".join(parts)), summary)
