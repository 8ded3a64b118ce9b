"""Pages rendered with their own blocks cached per app, keyed by the data version.

``render_cached`` caches the blocks a page template defines (title, main, scripts) per (page, query
string, data version), while base.html (navigation, who is logged in, CSRF token of the logout
form) is still rendered for each request, so one cached entry serves every user.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app

from tracker.web.context import state


def render_cached(template_name: str, key: Hashable, make_vars: Callable[[], dict[str, Any]]) -> str:
    """Render ``template_name`` with its own blocks cached under ``key``; the rest renders each time.

    ``make_vars`` is only called on a miss. The template's top level (outside its blocks) must not
    need those variables, and its blocks must not depend on who is asking.
    """
    pages = state().caches.pages
    template = current_app.jinja_env.get_or_select_template(template_name)
    cached: dict[str, str] | None = pages.peek(key)
    captured: dict[str, str] = {}
    context: dict[str, Any] = {} if cached is not None else make_vars()
    current_app.update_template_context(context)
    ctx = template.new_context(context)
    concat = template.environment.concat

    def wrap(name: str, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def block(block_ctx: Any) -> Any:
            if cached is not None and name in cached:
                yield cached[name]
                return
            out = concat(original(block_ctx))
            captured[name] = out
            yield out

        return block

    for name in template.blocks:
        ctx.blocks[name][0] = wrap(name, ctx.blocks[name][0])
    html = concat(template.root_render_func(ctx))
    if cached is None:
        pages.put(key, captured)
    return html
