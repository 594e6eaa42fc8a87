"""Fingerprints of real clients' non-task traffic, for the detector's content guardrails.

Each entry is ``(name, pattern)``; the name goes into the decision's reason so a log line says
*which* template matched. The phrasings are the recognisable, stable parts of the clients' own
prompts (OPENAI_API.md §8): Open WebUI's task templates (``backend/open_webui/config.py``), Aider's
commit/summary prompts and edit-format system prompts, Continue's edit/apply templates, and the
XML tool protocol of Cline-style agents. They are matched case-insensitively on message text; a
miss falls through to the coding-task judgement, which is itself conservative.
"""

from __future__ import annotations

import re

from proxy.detection.caseless import Caseless, caseless

__all__ = [
    "ABOUT_CODE",
    "ABOUT_EXISTING",
    "AGENT_PROMPTS",
    "BACKGROUND_TASKS",
    "BACKREF",
    "CODE_FENCE_OR_DEF",
    "CODE_WORD",
    "CONTINUE_CHAT_RULES",
    "EDIT_FORMATS",
    "FIM_SENTINELS",
    "NO_CODE",
    "QUESTION",
    "SIDE_EFFECTS",
    "TASK_VERB",
    "first_match",
]

Fingerprints = tuple[tuple[str, Caseless], ...]


def _table(entries: dict[str, str]) -> Fingerprints:
    return tuple((name, caseless(rx, re.M)) for name, rx in entries.items())


def first_match(table: Fingerprints, texts: tuple[str, ...]) -> str | None:
    """Name of the first fingerprint found in any of ``texts``."""
    for name, pattern in table:
        if any(pattern.search(text) for text in texts):
            return name
    return None


# Continue's chat-mode system message (``core/llm/defaultSystemMessages.ts``): code-block and
# lazy-edit formatting *for modification requests*, plus "use the Apply button". Its agent and
# plan modes send tools, which the structural rules catch first.
CONTINUE_CHAT_RULES = re.compile(
    r"<important_rules>\s*You are in chat mode\..*?</important_rules>", re.S | re.I
)

BACKGROUND_TASKS = _table(
    {
        "open_webui_title": r"\d-\d word title|\"title\":\s*\"(?:your|the) (?:concise )?title",
        "open_webui_tags": r"generate 1-3 broad tags|\"tags\":\s*\[\s*\"tag",
        "open_webui_follow_ups": r"suggest 3-5 relevant follow-up|\"follow_ups\":\s*\[",
        "open_webui_queries": r"necessity of generating search queries|\"queries\":\s*\[\s*\"",
        "open_webui_autocomplete": r"you are an autocompletion system|<type>\s*\w+\s*</type>",
        "open_webui_emoji": r"speaker's likely facial expression|fitting emoji",
        "open_webui_image_prompt": r"detailed prompt for an? image generation task",
        "open_webui_tool_choice": r"choose and return the correct tool",
        "open_webui_chat_history": r"<chat_history>|\{\{MESSAGES:|^### Task:[ \t]*$",
        "chat_title": r"\b(?:generate|create|suggest|write|give)\b[^.\n]{0,40}\btitle\b[^.\n]{0,40}"
        r"\b(?:chat|conversation|discussion|thread)\b",
        "aider_commit_message": r"commit messages?\b",
        "aider_summary": r"summari[sz]e this partial conversation|key aspects of our conversation"
        r"|partial conversation that continues after this summary",
    }
)

AGENT_PROMPTS = _table(
    {
        "agent_identity": r"\byou are (?:cline|roo|kilo code)\b"
        r"|powerful agentic ai coding assistant|you are an? (?:\w+ )?coding agent",
        "xml_tool_tags": r"<(?:execute_command|read_file|write_to_file|replace_in_file|apply_diff|"
        r"search_files|list_files|list_code_definition_names|browser_action|use_mcp_tool|"
        r"access_mcp_resource|ask_followup_question|attempt_completion|new_task|"
        r"plan_mode_respond|insert_content|search_and_replace)>",
        "environment_details": r"<environment_details>|# Current Working Directory",
        "tool_use_section": r"^#{1,3}\s*tool use\b|tool use formatting|you have access to "
        r"(?:a set of |the following )?tools|<tool_call>|<function_calls>|<invoke name=",
        "react_loop": r"^action input:|^thought:.*\n+action:",
    }
)

EDIT_FORMATS = _table(
    {
        "search_replace": r"<{5,9} SEARCH|>{5,9} REPLACE|SEARCH/REPLACE",
        "whole_file": r"(?:entire|full|complete|whole) (?:content|contents|source) of the "
        r"(?:updated|modified|changed|new)? ?files?|\bfile listing\b",
        "aider_files": r"added these files to the chat|take requests for changes to the "
        r"supplied code|act as an expert (?:software developer|architect engineer|code analyst)"
        r"|summaries of some files present in my git repository",
        "unified_diff": r"diff -U0|\bunified diffs?\b|^(?:---|\+\+\+) [ab]/|^@@ -\d+"
        r"|\b(?:respond|reply|answer|output|return|give|show)\b[^.\n]{0,30}\b(?:as|with|in|using)"
        r" (?:a |the )?(?:git )?(?:diff|patch)\b",
        "continue_edit": r"section of code in a file to be rewritten|rewrite the code to satisfy"
        r"|\[BLANK\]|(?://|#|<!--) ?\.\.\. ?(?:existing|rest of) (?:the )?code",
        "filepath_comment": r"^[ \t]*(?://|#|<!--) ?filepath:",
        "fim_tokens": r"<\|fim_|<fim_(?:prefix|suffix|middle)>|<\|editable_region|<\|code_to_edit"
        r"|<\|fim▁",
        "inline_assist": r"<rewrite_this>|<insert_here>|file of text that I'm going to ask you to "
        r"make an edit to",
        "path_header": r"^```[\w+#-]*[ :][\w./-]*/[\w.-]+\.\w{1,5}[ \t]*$"
        r"|^[\w.-]+(?:/[\w.-]+)+\.\w{1,5}\s*\n```",
    }
)

# A task whose program would touch the outside world cannot be judged by running it on
# synthesized inputs in the sandbox (no network, no files): S* has nothing to compare.
SIDE_EFFECTS = _table(
    {
        "files": r"\b(?:read|write|open|save|load|parse|append|dump|store|export|import)\w*"
        r"\b[^.\n]{0,40}\bfiles?\b|\bfile ?paths?\b|\bdirector(?:y|ies)\b|\bfolders?\b"
        r"|os\.(?:path|walk|listdir)|pathlib|\bcsv\b|\bexcel\b|\bxlsx\b",
        "network": r"https?://|\burls?\b|\bapis?\b|\bendpoints?\b|\bhttp\b|\brequests\.|"
        r"\bweb ?(?:page|site|server)s?\b|\bwebsites?\b|\bscrap(?:e|er|ing)\b|beautifulsoup|"
        r"selenium|\bsockets?\b|\bdownload|\bupload|send(?:s|ing)? (?:an? )?e-?mails?|smtp|"
        r"telegram|discord|slack bot|twitter",
        "services": r"\bdatabase|\bsqlite|postgres|mysql|mongodb|redis|\bs3\b|\baws\b|docker|"
        r"kubernetes|subprocess|shell commands?|environment variables?|\bcron\b",
        "frameworks": r"\bflask\b|django|fastapi|streamlit|gradio|tkinter|pygame|\bgui\b|"
        r"matplotlib|seaborn|plotly|\bplots?\b|\bcharts?\b|pandas|dataframe|numpy|\btorch\b|"
        r"tensorflow|sklearn|scikit|keras|opencv|webcam|microphone|clipboard",
        "nondeterminism": r"current (?:date|time)|datetime\.now|time\.time|\bsleeps?\b|"
        r"\brandom(?:ly)?\b|\buuid",
    }
)

# --- the coding-task judgement --------------------------------------------------------------

CODE_FENCE_OR_DEF = re.compile(r"```|^[ \t]*(?:def|class) \w", re.M)
# A later turn that points back at an earlier answer ("your code", "now make it faster").
BACKREF = caseless(
    r"\b(?:your|you (?:wrote|gave|made|did)|above|previous(?:ly)?|earlier|the same|instead|also|"
    r"again|still|now|it (?:fails|crashes|doesn't|does not|is too|should)|that (?:code|function|"
    r"solution|program|one)|this (?:code|function|solution|program))\b"
)
QUESTION = caseless(
    r"^\W*(?:(?:hi|hey|hello|thanks)\W+)?(?:(?:can|could|would) you |please |pls )?"
    r"(?:explain|describe|what|why|how (?:does|do|is|are|can|would|should|much|many)|when|where|"
    r"who|which|is|are|does|do(?! not)|compare|summari[sz]e|tell me|help me understand|"
    r"give me (?:a )?hint)\b"
)
TASK_VERB = caseless(
    r"\b(?:write|implement|create|code|define|complete|finish|solve|generate|build|develop|"
    r"fill in|make a|give me (?:a|the) (?:code|program|function|solution))\b"
)
ABOUT_CODE = caseless(
    r"\b(?:explain|explanation|what does|wrong|walk me through|review|critique|feedback|refactor|"
    r"clean(?: |-)?up|improve|optimi[sz]e|speed up|faster|simplify|document|docstrings?|comments?|"
    r"type hints|annotate|unit tests?|translate|convert|port|rewrite|debug|fix|bug|errors?|"
    r"traceback|exception|why|complexity|rename|lint|pep ?8|understand|modify|change|update)\b"
)
CODE_WORD = caseless(
    r"\b(?:code|program|script|function|method|class|algorithm|python|implement|def|snippet|"
    r"regex|leetcode|codeforces|atcoder)\b"
)
# "Write tests for `is_prime(n)`" names a function but wants something else than its code.
ABOUT_EXISTING = caseless(
    r"\b(?:write|add|generate|create|give me)\s+(?:a |an |some |the )?(?:\w+ )?"
    r"(?:tests?|test cases|test suite|docstrings?|comments?|documentation|docs|type hints|"
    r"explanation|summary|review)\s+(?:for|to|of|on)\b"
)
NO_CODE = caseless(
    r"\b(?:no code|without (?:any )?code|(?:don't|do not) (?:write|give|show)(?: me)? (?:any )?"
    r"(?:code|the solution)|(?:just|only) (?:the )?(?:idea|approach|intuition|explanation|hint)s?|"
    r"explain (?:the )?(?:idea|approach|intuition))\b"
)

# Upper-case FIM sentinels (CodeLlama, Codestral): case matters, "<pre>" is just HTML.
FIM_SENTINELS = re.compile(r"<PRE>|<SUF>|<MID>|\[PREFIX\]|\[SUFFIX\]")
