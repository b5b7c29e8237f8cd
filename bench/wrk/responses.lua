-- Non-stream Responses API request with a short input (POST /v1/responses).
wrk.method = "POST"
wrk.path = "/v1/responses"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","input":"What is the capital of France? #0","store":false}'
-- Every request asks something new ("#0" becomes its number): no two replies are alike, nothing can be replayed.
n = 0
function request() n = n + 1 return wrk.format(nil, nil, nil, (wrk.body:gsub("#0", "#" .. n))) end
