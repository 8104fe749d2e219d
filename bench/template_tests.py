"""Running a saved test case against rendering its event alone: what checking a case adds.

The studio runs the open template's cases after each edit (off the GUI thread), and
``test-templates`` runs every case in CI. A case run is a render plus the comparison with the
expected calls (volatile fields by presence) and, with a tracking plan, a JSON Schema check of
each call. The reference is the render of the same event in the same run.

    python -m bench.template_tests [--repeat N] [--items 5,50,500]
"""

from __future__ import annotations

import argparse

from bench.orders import order_event
from bench.stats import print_table, summary, timings_ms, write_results
from segment_desktop.core import engine as engines
from segment_desktop.core.render import Renderer
from segment_desktop.core.template_tests import TestCase, run_case
from segment_desktop.core.templates import default_template
from segment_desktop.core.tracking_plan import parse_plan

KEY = "order_completed"
#: A plan of the shape Protocols applies: the order's properties and each product's types.
PLAN = {
    "rules": [
        {
            "type": "TRACK",
            "key": "Order Completed",
            "jsonSchema": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "properties": {
                        "type": "object",
                        "required": ["order_id", "total", "currency", "products"],
                        "properties": {
                            "total": {"type": "number"},
                            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                            "products": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["product_id", "price", "quantity"],
                                    "properties": {
                                        "price": {"type": "number"},
                                        "quantity": {"type": "integer", "minimum": 1},
                                    },
                                },
                            },
                        },
                    }
                },
            },
        }
    ]
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--items", default="5,50,500")
    args = parser.parse_args(argv)
    text = default_template(KEY)
    plan = parse_plan(PLAN, "bench plan")
    rows = []
    results = []
    for name in engines.available_engines():
        renderer = Renderer(name, engines.Limits(timeout_s=10))
        for items in (int(n) for n in args.items.split(",")):
            event = order_event(items)
            calls = renderer.render(text, event, template_key=KEY).calls
            case = TestCase("bench", KEY, event.body, calls)
            repeat = max(5, args.repeat // (10 if items >= 500 and name != "jlens" else 1))

            def render(r: Renderer = renderer, c: TestCase = case) -> object:
                from segment_desktop.core.envelope import to_event

                return r.render(text, to_event(c.event), template_key=KEY)

            def run(r: Renderer = renderer, c: TestCase = case) -> object:
                return run_case(c, text, r)

            def run_plan(r: Renderer = renderer, c: TestCase = case) -> object:
                return run_case(c, text, r, plan.check)

            # Interleaved, so a busy moment of the machine hits all three alike.
            samples: dict[str, list[float]] = {"render": [], "case": [], "plan": []}
            for _ in range(repeat):
                for key, fn in (("render", render), ("case", run), ("plan", run_plan)):
                    samples[key].extend(timings_ms(fn, 1, warmup=0))
            alone, case_run, with_plan = (summary(samples[k]) for k in ("render", "case", "plan"))
            rows.append(
                [
                    name,
                    items,
                    alone["p50"],
                    case_run["p50"],
                    with_plan["p50"],
                    case_run["p50"] / alone["p50"],
                    with_plan["p50"] / alone["p50"],
                ]
            )
            results.append(
                {
                    "engine": name,
                    "items": items,
                    "render_ms": alone,
                    "case_ms": case_run,
                    "case_with_plan_ms": with_plan,
                }
            )
    print("One Order Completed case: render alone, the case run, the case run with a plan. ms.")
    print_table(
        ["engine", "items", "render p50", "case p50", "+plan p50", "case/render", "+plan/render"],
        rows,
    )
    path = write_results("template_tests", {"rows": results})
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
