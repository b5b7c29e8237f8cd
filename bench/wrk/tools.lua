-- A tool call: the reply's arguments are generated from the tool's parameters schema.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the weather in Paris? #0"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city","unit"],"additionalProperties":false}}}],"tool_choice":"required"}'
-- Every request asks something new ("#0" becomes its number): no two replies are alike, nothing can be replayed.
n = 0
function request() n = n + 1 return wrk.format(nil, nil, nil, (wrk.body:gsub("#0", "#" .. n))) end
