-- Count-only POST /profile, every request a spec not seen before, drawn over all presets in turn.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "report.lua")
presets = {"mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
           "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}
local counter = 0
local run = tostring(os.time()) .. tostring(math.random(1e6))
request = function()
  counter = counter + 1
  local body = string.format(
    '{"preset":"%s","name":"fresh-%s","width_multiplier":%.3f,"resolution":%d}',
    presets[counter % #presets + 1], run, 0.25 + (counter % 400) / 200, 96 + counter % 512)
  return wrk.format("POST", "/profile", {["Content-Type"] = "application/json"}, body)
end
