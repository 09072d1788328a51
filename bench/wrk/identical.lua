-- Count-only POST /profile, the same spec every time (answered from the store after the first).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
wrk.method = "POST"
wrk.body = '{"preset": "mobilenet_v2"}'
wrk.headers["Content-Type"] = "application/json"
