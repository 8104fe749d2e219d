"""Preview step latency: our render path against the bare engines, same template, same input.

The preview step is what the template studio runs after each edit: render the current text on
the current sample (compiled template cached by text, sample parsed once), check each call against
the Segment spec, and format the result as JSON. The bare engine is the library alone: compile +
evaluate through its own API.

    python -m bench.preview [--repeat N] [--items 5,50,500]
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.orders import order_event
from bench.stats import print_table, summary, timings_ms, write_results
from segment_desktop.core import engine as engines
from segment_desktop.core.render import HELPERS, Renderer
from segment_desktop.core.templates import default_template
from segment_desktop.ui.studio.preview import PreparedEventCache, build_preview

TARGETS = {
    "jsonata-python": {5: 16.0, 50: 50.0},
    "jlens": {50: 2.0, 500: 16.0},
}
OVERHEAD_TARGET = 1.3


def preview_step(renderer: Renderer, text: str, event: object, cache: object) -> object:
    """Exactly what the studio's worker runs after an edit (no widget is made)."""
    return build_preview(renderer, text, event, "order_completed", cache=cache)  # type: ignore[arg-type]


def bare_engine_raw(name: str, text: str, body: dict[str, object], body_json: str) -> object:
    """The library's own API, without our adapter: the reference for "our overhead"."""
    if name == "jlens":
        import jlens

        expr = jlens.Expression(text)
        for helper, fn in HELPERS.items():
            expr.register_function(helper, fn)
        return expr.evaluate_json(body_json, None, timeout=0.5, max_depth=400)
    from jsonata import Jsonata

    expr = Jsonata(text)
    for helper, fn in HELPERS.items():
        expr.register_lambda(helper, fn)
    return expr.evaluate(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--items", default="5,50,500")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.items.split(",")]
    text = default_template("order_completed")
    rows = []
    results = []
    for name in engines.available_engines():
        renderer = Renderer(name, engines.Limits(timeout_s=10))
        for items in sizes:
            event = order_event(items)
            event_json = json.dumps(event.body)
            repeat = max(5, args.repeat // (10 if items >= 500 and name != "jlens" else 1))

            # The studio prepares the sample once (when it is chosen), not per keystroke.
            cache = PreparedEventCache()
            cache.get(renderer, event)

            def step(
                r: Renderer = renderer, ev: object = event, c: PreparedEventCache = cache
            ) -> object:
                return preview_step(r, text, ev, c)

            def render_only(r: Renderer = renderer, ev: object = event) -> object:
                return r.render(text, ev)  # type: ignore[arg-type]

            def bare(n: str = name, ev: object = event, js: str = event_json) -> object:
                return bare_engine_raw(n, text, ev.body, js)  # type: ignore[attr-defined]

            # Interleave the three so a busy moment of the machine hits all of them alike.
            samples: dict[str, list[float]] = {"step": [], "render": [], "bare": []}
            for _ in range(repeat):
                for key, fn in (("step", step), ("render", render_only), ("bare", bare)):
                    samples[key].extend(timings_ms(fn, 1, warmup=0))
            ours, rendered, engine_alone = (summary(samples[k]) for k in ("step", "render", "bare"))
            ratio = rendered["p50"] / engine_alone["p50"]
            target = TARGETS.get(name, {}).get(items)
            verdict = "" if target is None else ("ok" if ours["p50"] <= target else "MISSED")
            rows.append(
                [
                    name,
                    items,
                    ours["p50"],
                    ours["p95"],
                    rendered["p50"],
                    engine_alone["p50"],
                    ratio,
                    f"<= {target}" if target else "-",
                    verdict,
                ]
            )
            results.append(
                {
                    "engine": name,
                    "items": items,
                    "preview_step_ms": ours,
                    "render_ms": rendered,
                    "bare_engine_ms": engine_alone,
                    "render_over_bare": ratio,
                    "target_step_p50_ms": target,
                }
            )
    print(
        "Preview step = render (template cached by text) + Segment spec check + JSON formatting; "
        "bare = the library's own compile + evaluate. Milliseconds."
    )
    print_table(
        [
            "engine",
            "items",
            "step p50",
            "step p95",
            "render p50",
            "bare p50",
            "render/bare",
            "target",
            "",
        ],
        rows,
    )
    print(f"overhead target: render/bare <= {OVERHEAD_TARGET}")
    path = write_results("preview", {"rows": results})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
