"""Execute a notebook on a relayaudit output folder and compare its headline
numbers with that folder's summary.json.

Usage: python3 notebooks/check_notebook.py OUTPUT_DIR [NOTEBOOK]

The notebook reads the folder named by RELAYAUDIT_OUT and prints one line
`HEADLINE {json}` from its cell tagged `headline`. Exit status 0 when every
number matches, 1 otherwise.
"""

import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def headline_of(notebook) -> dict:
    for cell in notebook.cells:
        if "headline" not in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("HEADLINE "):
                    return json.loads(line[len("HEADLINE "):])
    raise SystemExit("the notebook printed no HEADLINE line in a cell tagged 'headline'")


def expected_of(summary: dict) -> dict:
    peaks = summary["peaks"]
    top = summary["top_senders"]
    return {
        "recipients_replayed": summary["recipients_replayed"],
        "outcomes": summary["outcomes"],
        "org_recipients_10min": peaks["org_recipients_10min"]["value"] if peaks["org_recipients_10min"] else 0,
        "org_recipients_day": peaks["org_recipients_day"]["value"] if peaks["org_recipients_day"] else 0,
        "top_sender": top[0]["sender"] if top else None,
    }


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1]).resolve()
    path = Path(sys.argv[2]) if len(sys.argv) == 3 else HERE / "relayaudit_walkthrough.ipynb"
    os.environ["RELAYAUDIT_OUT"] = str(out)

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()

    found = headline_of(notebook)
    expected = expected_of(json.loads((out / "summary.json").read_text()))
    failed = 0
    for key, value in expected.items():
        if found.get(key) == value:
            print(f"ok: {key} = {value}")
        else:
            failed += 1
            print(f"MISMATCH: {key}: notebook {found.get(key)!r}, summary.json {value!r}")
    print(f"notebook {path.name}: {len(expected) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
