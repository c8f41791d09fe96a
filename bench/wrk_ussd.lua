-- One USSD first hop per request, each a new session (wrk keeps one request in flight per connection).
local counter = 0
local seed = tostring(math.random(1, 1000000000))
request = function()
  counter = counter + 1
  local body = "sessionId=wrk-" .. seed .. "-" .. counter ..
    "&serviceCode=%2A384%2A123%23&phoneNumber=%2B1555555" .. string.format("%04d", counter % 10000) ..
    "&networkCode=63902&text="
  return wrk.format("POST", "/africastalking/ussd", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
