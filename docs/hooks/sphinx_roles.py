"""MkDocs hook: show the docstrings' Sphinx cross-reference roles as plain code.

The package's docstrings use Sphinx roles (``:class:`ConfigError```, ``:meth:`to_mllib```).
mkdocstrings renders docstrings as Markdown, where such a role comes out as the role's name
in front of a code span (":class:<code>ConfigError</code>"); this drops the role's name and a
leading "~" or "." from the target, leaving the code span.
"""

import re

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):(<code>)[~.]?")


def on_page_content(html, page, config, files):  # MkDocs calls it with these keyword names
    return _ROLE.sub(r"\1", html)
