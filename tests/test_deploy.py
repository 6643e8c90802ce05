"""The deployment files: the 3-node Qdrant cluster compose file is wired as docs/scale.md says (no Docker here to
run it)."""

import yaml

from rag.cli import build_parser
from rag.config import ROOT


def test_the_qdrant_cluster_compose_file_joins_three_nodes_and_points_papertrail_at_them():
    compose = yaml.safe_load((ROOT / "compose.qdrant-cluster.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    nodes = {name: s for name, s in services.items() if name.startswith("qdrant")}
    assert len(nodes) == 3
    for name, node in nodes.items():
        assert node["environment"]["QDRANT__CLUSTER__ENABLED"] == "true"
        assert node["environment"]["QDRANT__SERVICE__API_KEY"].startswith("${QDRANT_API_KEY:?")
        assert node["command"][-2:] == ["--uri", f"http://{name}:6335"] and "ports" not in node  # not published
        assert name == "qdrant1" or node["command"][1:3] == ["--bootstrap", "http://qdrant1:6335"]
    papertrail = services["papertrail"]
    assert papertrail["ports"] == ["127.0.0.1:7860:7860"] and papertrail["build"]["args"]["EXTRAS"] == "[qdrant]"
    args = build_parser().parse_args(papertrail["command"][1:])  # the flags exist and parse
    assert (args.qdrant_url, args.qdrant_shards, args.qdrant_replicas) == ("http://qdrant1:6333", 3, 2)
    assert args.qdrant_replicas <= len(nodes) and args.host == "0.0.0.0"
