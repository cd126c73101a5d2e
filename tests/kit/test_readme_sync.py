"""The README's "Testing your agent" example is, to the character, a test of this suite.

The test file adds one marked block that the README leaves out (the same test on Pipecat
before 1.3, CI's lowest stage): the README's example is the file without that block, with
the imports the block tries first (Pipecat 1.3's names) among its other imports.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START = "# --- not in the README"
END = "# --- end of what is not in the README ---\n"


def test_the_readme_shows_the_echo_bot_test_that_runs_here():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Testing your agent", 1)[1].split("\n## ", 1)[0]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    source = (ROOT / "tests" / "kit" / "test_readme_echo_bot.py").read_text()

    before, rest = source.split(START, 1)
    marked, after = rest.split(END, 1)
    tried = marked.split("\ntry:\n", 1)[1].split("\nexcept ImportError:\n", 1)[0]
    imports = [line.strip() for line in tried.splitlines() if line.strip()]
    assert imports, "the marked block tries Pipecat 1.3's imports first"

    lines = block.splitlines(keepends=True)
    for line in imports:
        assert line + "\n" in lines, f"the README's example imports {line!r}"
    without = "".join(line for line in lines if line.strip() not in imports)
    assert without == before.rstrip("\n") + "\n\n\n" + after.lstrip("\n")
