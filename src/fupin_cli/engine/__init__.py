"""Rule packs: load (YAML → models → typed IR), evaluate (vectorised), explain, decide.

    pack = load_pack("national-2014")
    ev = evaluate(roster, pack, year=2015)
    decisions = identification(ev)
"""

from fupin_cli.engine.evaluate import Evaluation, evaluate
from fupin_cli.engine.loader import Pack, find_pack, load_pack, shipped_packs
from fupin_cli.engine.params import ParamValue, resolve

__all__ = ["Evaluation", "Pack", "ParamValue", "evaluate", "find_pack", "load_pack", "resolve", "shipped_packs"]
