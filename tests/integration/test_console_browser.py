#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The console in a real headless Chromium (Debian's chromium, chromium-driver and
# python3-selenium; exits 77 without them), against a running daemon and a real broker. Zone
# bs-03 gets a hot, dry, windy day from its weather station, so that the fire model's daily step
# gives it level 5 (the day planned as in test_fire_model.py, up to 75 s away); bs-07 has no
# fire model and stays unknown, and its name is markup. The page must show bs-03 in the official
# red and bs-07 in grey, the markup as text, and then an alert raised by a smoke uplink must
# appear on the page without a reload (the event stream). A screenshot of the page is saved in
# the test's work folder (console.png).

import os
import shutil
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
import test_fire_model as fire  # noqa: E402  (the planned day; sets the script guard)
from fwtest import check, http_json, is_alert  # noqa: E402

webdriver = fwtest.import_debian("selenium.webdriver")
if webdriver is None or not shutil.which("chromium") or not shutil.which("chromedriver"):
    print("test_console_browser.py: SKIP: chromium, chromium-driver or python3-selenium missing")
    sys.exit(fwtest.SKIP_EXIT)

RED, GREY = "#d7191c", "#c8c8c8"  # console.js: COLOURS.red, UNKNOWN
MARKUP = '<img src=x onerror="window.fwInjected=1"><b>北山 7</b>'


def browser(workdir):
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--lang=zh-CN",
                "--user-data-dir=" + os.path.join(workdir, "chromium")):
        opts.add_argument(arg)
    service = webdriver.chrome.service.Service(shutil.which("chromedriver"),
                                               log_path=os.path.join(workdir, "chromedriver.log"))
    return webdriver.Chrome(service=service, options=opts)


def wait_js(drv, script, what, timeout=fwtest.HANG_GUARD_S):
    """Run `script` (returning a value) until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        got = drv.execute_script(script)
        if got:
            return got
        check(time.monotonic() < deadline, "the page: expected %s within %.0f s" % (what, timeout))
        time.sleep(0.1)


# The fill of zone %s's shape on the map, null when it is not drawn.
ZONE_FILL = """const g = document.querySelector('#map g.zone[data-zone="%s"] .zone-shape');
return g ? g.getAttribute('fill') : null;"""


def test(env):
    cfg = fwtest.load_json_file(env.config_path)
    n, d, offset, window = fire.plan(time.time())
    cfg["zones"][fire.ZONE]["fire"] = {"stations": [fire.STATION], "utc_offset_min": offset,
                                       "noon_window_min": window}
    cfg["zones"]["bs-07"]["name"] = MARKUP
    cfg["zones"]["bs-07"].pop("name_en", None)
    fwtest.write_json_file(env.config_path, cfg)
    base = fwtest.enable_console(env.config_path)
    emergency = env.route_subscriber("emergency")
    daemon = env.start_daemon()
    fire.send_day(env, fire.STATION, n)
    check(time.time() < d, "the readings took until after the step was due; rerun")

    drv = browser(env.workdir)
    try:
        drv.get(base + "/")
        wait_js(drv, "return document.querySelectorAll('#map g.zone').length == 2",
                "the two zones on the map")
        # Before the step: both unknown, grey.
        check(drv.execute_script(ZONE_FILL % "bs-07") == GREY, "bs-07 is not grey")
        drv.execute_script("window.fwSamePage = 1")  # gone if the page reloads

        # The daily step: level 5 reaches the danger_red rule and the page.
        wait = max(d - time.time(), 0) + fwtest.HANG_GUARD_S
        emergency.expect_none_before(is_alert("firing", "danger_red"), timeout=wait,
                                     what="danger_red from the zone's level")
        zones = {z["id"]: z for z in http_json(base + "/api/zones")}
        check(zones["bs-03"]["level"] == 5 and zones["bs-03"]["colour"] == "red",
              "/api/zones: %s" % zones["bs-03"])
        wait_js(drv, "return (function () {%s})() == '%s'" % (ZONE_FILL % "bs-03", RED),
                "bs-03 in red (level 5)")
        check(drv.execute_script(ZONE_FILL % "bs-07") == GREY, "bs-07 is not grey any more")

        # The markup in bs-07's name is text, not elements.
        label = drv.execute_script(
            "return document.querySelector('#map g.zone[data-zone=\"bs-07\"] text').textContent")
        check(label == MARKUP, "bs-07's label: %r" % label)
        check(drv.execute_script("return document.querySelectorAll('#map img, main img').length")
              == 0 and drv.execute_script("return window.fwInjected") is None,
              "the zone's name was taken as markup")

        # A smoke alert raised by an uplink appears without a reload.
        env.send_reading("bs07-smoke-01", "smoke_ppm", 480.0)
        alert = emergency.wait_for(lambda m: is_alert("firing", "smoke_high", "bs07-smoke-01")(m.json),
                                   what="smoke_high firing").json
        wait_js(drv, "return document.querySelector('#alerts li.alert[data-id=\"%s\"]') !== null"
                % alert["id"], "the smoke alert on the page")
        check(drv.execute_script("return window.fwSamePage") == 1, "the page was reloaded")
        text = drv.execute_script(
            "return document.querySelector('#alerts li.alert[data-id=\"%s\"]').textContent"
            % alert["id"])
        check(MARKUP in text and "480" in text, "the alert on the page: %r" % text)
        # In the server's order (most severe, then newest, first; unit.console.alerts_order).
        ids = drv.execute_script(
            "return [...document.querySelectorAll('#alerts li.alert')].map(e => e.dataset.id)")
        check(ids == [a["id"] for a in http_json(base + "/api/alerts")],
              "the page's order differs from /api/alerts: %s" % ids)

        # English, and the screenshot.
        drv.find_element("id", "lang").click()
        wait_js(drv, "return document.documentElement.lang == 'en-US'", "the English page")
        drv.find_element("id", "lang").click()
        wait_js(drv, "return document.documentElement.lang == 'zh-CN'", "the Chinese page")
        shot = os.path.join(env.workdir, "console.png")
        check(drv.save_screenshot(shot), "no screenshot")
        fwtest.log("screenshot: %s" % shot)
    finally:
        drv.quit()
    daemon.stop()


if __name__ == "__main__":
    fwtest.run(test)
