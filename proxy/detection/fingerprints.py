"""Fingerprints of real clients' non-task traffic, for the detector's content guardrails.

Each entry is ``(name, pattern)``; the name goes into the decision's reason so a log line says
*which* template matched. The phrasings are the recognisable, stable parts of the clients' own
prompts (OPENAI_API.md §8), read from their source: Open WebUI's task templates, Continue's
titles, edit/apply/autocomplete templates and compaction, Cline's and Roo Code's agent prompts,
compaction and prompt enhancer, Aider's edit formats and weak-model prompts, Zed's thread titles,
inline and terminal assist, Codex CLI's agent and compaction prompts, LibreChat's titles and
summaries, VS Code Copilot Chat's titles and inline chat. ``BACKGROUND_TASKS`` ends with general
shapes (a title or a summary *of a conversation*, a commit message), and a transcript of a
conversation is background work too: they catch the same work from a client not listed.
``tests/data/client_corpus.jsonl`` holds a request of every shape with its source file. Patterns
are matched case-insensitively on message text; a miss falls through to the coding-task
judgement, which is itself conservative.
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
    "EXPLAIN_ONLY",
    "FIM_SENTINELS",
    "NO_CODE",
    "QUESTION",
    "SIDE_EFFECTS",
    "TASK_VERB",
    "TRANSCRIPT_ASSISTANT",
    "TRANSCRIPT_USER",
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

# Requests a client makes in the background about a conversation or a change (titles, tags,
# follow-ups, summaries and compaction, prompt rewriting, commit messages). They often embed the
# user's coding question verbatim, so the question alone would look like a task. Client templates
# first, so a log names the client; then the general shapes each client's wording falls under.
BACKGROUND_TASKS = _table(
    {
        # Open WebUI: backend/open_webui/config.py, utils/context_compaction.py
        "open_webui_title": r"\"title\":\s*\"(?:your|the) (?:concise )?title",
        "open_webui_tags": r"generate 1-3 broad tags|\"tags\":\s*\[\s*\"tag",
        "open_webui_follow_ups": r"suggest 3-5 relevant follow-up|\"follow_ups\":\s*\[",
        "open_webui_queries": r"necessity of generating search queries|\"queries\":\s*\[\s*\"",
        "open_webui_autocomplete": r"you are an autocompletion system|<type>\s*\w+\s*</type>",
        "open_webui_emoji": r"speaker's likely facial expression|fitting emoji",
        "open_webui_image_prompt": r"detailed prompt for an? image generation task",
        "open_webui_tool_choice": r"choose and return the correct tool",
        "open_webui_moa": r"set of responses from various models to the latest user query",
        "open_webui_chat_history": r"<chat_history>|\{\{MESSAGES:|^### Task:[ \t]*$",
        # Continue: core/util/chatDescriber.ts, core/util/conversationCompaction.ts,
        # extensions/cli/src/compaction.ts
        "continue_title": r"please reply with a title for the chat",
        "continue_compaction": r"comprehensive summary of this conversation that captures"
        r"|concise summary of our conversation so far",
        # Roo Code: src/shared/support-prompt.ts (ENHANCE, CONDENSE), src/core/condense
        "roo_enhance_prompt": r"generate an enhanced version of this prompt",
        "roo_condense": r"tasked with summarizing conversations"
        r"|this summarization request is a system operation",
        # Cline: src/core/prompts/contextManagement.ts (v3), sdk agentic-compaction.ts (v4)
        "cline_compaction": r"<explicit_instructions type=\"summarize_task\">"
        r"|summarize the provided coding session|summarize this session for continuation",
        # Codex CLI: codex-rs/core/templates/compact, codex-cli/src/utils/compact-summary.ts
        "codex_compaction": r"context checkpoint compaction"
        r"|structured summary of the conversation below",
        # LibreChat and @librechat/agents: titles and summaries
        "librechat_title": r"5-word-or-less title|title in 5 words or less"
        r"|concise title \(max \d+ characters\)",
        "librechat_summary": r"write me a checkpoint of everything so far"
        r"|integrating new lines into the current summary",
        # VS Code Copilot Chat: src/extension/prompts/node/panel/title.tsx
        "copilot_title": r"crafting pithy titles|write a brief title for the following request",
        # Zed: crates/agent/src/prompts/summarize_thread_detailed_prompt.txt
        "zed_summary": r"generate a detailed summary of this conversation",
        # Aider: aider/prompts.py
        "aider_summary": r"summari[sz]e this partial conversation|key aspects of our conversation"
        r"|partial conversation that continues after this summary",
        # general shapes
        "chat_title": r"\b(?:generate|create|suggest|write|give|provide|reply with|produce|craft|"
        r"come up with)\b[^.\n]{0,40}\btitle\b[^.\n]{0,40}"
        r"\b(?:chat|conversation|discussion|thread|request|session)\b|\b\d+-\d+ word title\b",
        "commit_message": r"commit messages?\b",
        "conversation_summary": r"\bsummar(?:y|ies|i[sz]e)\b[^.\n]{0,60}\b(?:this|the|our) "
        r"(?:[\w-]+ ){0,2}(?:conversation|chat history|session|discussion|thread)\b"
        r"|\b(?:conversation|chat history) so far\b|^(?:[#\w ]*\b)?conversation:[ \t]*$",
    }
)

# A conversation flattened into one message ("User: ...\nAssistant: ...", "[User]: ... [Bot]:",
# Aider's "# USER" / "# ASSISTANT"): the request is about that conversation, not a fresh task.
# Both speakers must appear in the same (last) message.
TRANSCRIPT_USER = caseless(
    r"^[ \t]*(?:\|\|>)?\[?(?:user|human)\]?[ \t]*:|^#{1,3}[ \t]*(?:user|human)[ \t]*$", re.M
)
TRANSCRIPT_ASSISTANT = caseless(
    r"^[ \t]*(?:\|\|>)?\[?(?:assistant|ai|bot)\]?[ \t]*:|^#{1,3}[ \t]*(?:assistant|ai)[ \t]*$", re.M
)

AGENT_PROMPTS = _table(
    {
        "agent_identity": r"\byou are (?:cline|roo|kilo code|codex)\b"
        r"|powerful agentic ai coding assistant|\bagentic coding assistant\b"
        r"|you are an? (?:\w+ )?coding agent"
        r"|you are running as a coding agent",
        "xml_tool_tags": r"<(?:execute_command|read_file|write_to_file|replace_in_file|apply_diff|"
        r"search_files|list_files|list_code_definition_names|browser_action|use_mcp_tool|"
        r"access_mcp_resource|ask_followup_question|attempt_completion|new_task|"
        r"plan_mode_respond|insert_content|search_and_replace)>",
        "environment_details": r"<environment_details>|# Current Working Directory",
        "tool_use_section": r"^#{1,3}\s*tool use\b|tool use formatting|you have access to "
        r"(?:a set of |the following )?tools|<tool_call>|<function_calls>|<invoke name="
        r"|<tool_use_instructions>",
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
        r"|rewrite the above file|\[BLANK\]"
        r"|(?://|#|<!--) ?\.\.\. ?(?:existing|rest of) (?:the )?code",
        "hole_filler": r"you are a hole filler|\{\{FILL_HERE\}\}",
        "copilot_inline": r"\$(?:selection_)?placeholder\$",
        "terminal_command": r"respond with a (?:single )?command that"
        r"|you are an expert terminal user",
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

# Client instructions that ask for teaching rather than a finished program. VS Code chat
# participants on the language-model API (which has no system role) send them as a first user
# message: the code tutor of chat-tutorial, the @cat of chat-sample.
EXPLAIN_ONLY = _table(
    {
        "teaching_role": r"\byour job is to (?:explain|teach)\b|\byou are an? (?:\w+ ){0,2}tutor\b",
        "no_direct_answer": r"\b(?:do not|don't|never) give (?:the user |them |away )?the "
        r"(?:answer|solution)|\bguide (?:them|the user) to (?:find|discover) the answer",
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
