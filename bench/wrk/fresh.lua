-- Count-only POST /profile, every request a spec not seen before (width, resolution and a per-run name).
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
local counter = 0
local run = tostring(os.time()) .. tostring(math.random(1e6))
request = function()
  counter = counter + 1
  local body = string.format(
    '{"preset":"mobilenet_v2","name":"fresh-%s","width_multiplier":%.3f,"resolution":%d}',
    run, 0.25 + (counter % 400) / 200, 96 + counter % 512)
  return wrk.format("POST", "/profile", {["Content-Type"] = "application/json"}, body)
end
