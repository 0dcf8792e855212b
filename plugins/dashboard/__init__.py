"""The dashboard plugin: the web page people watch and steer the agents from.

Server-rendered pages (Jinja) for what the enabled plugins offer, kept live over ``/ws``; every
action is a call of the JSON API from the page. Other plugins add pages with the
``crosslink_dashboard_pages`` hook and overview panels with ``crosslink_dashboard_panels``
(declarations in :mod:`plugins.dashboard.declarations`).
"""
