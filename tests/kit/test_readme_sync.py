"""The README's "Testing your agent" example is, to the character, a test of this suite."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_shows_the_echo_bot_test_that_runs_here():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Testing your agent", 1)[1].split("\n## ", 1)[0]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert block == (ROOT / "tests" / "kit" / "test_readme_echo_bot.py").read_text()
