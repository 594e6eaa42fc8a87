"""The accuracy benchmark behind ``python -m bench.humaneval``: tasks, client, grading, report.

Modules: ``tasks`` (HumanEval dev split and the stdin problems as chat messages), ``client`` (the
official ``openai`` SDK against a running proxy, plus the run trace), ``extraction`` (answer text
to program), ``grading`` (hidden tests in the sandbox), ``store`` (resumable JSON results),
``report`` (summary, markdown table, PNG chart) and ``runner`` (the loop with a progress bar).
"""
