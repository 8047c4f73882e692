"""The browser fixtures (Debian's Chromium, watched pages) for every browser test file.

They live in test_browser.py, next to the dashboard's tests; other files get them here.
"""

from tests.browser.test_browser import browser, open_page  # noqa: F401
