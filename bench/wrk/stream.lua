-- Streamed chat of about 30 tokens (one frame per token).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tell me a short story. #0"}],"stream":true,"max_tokens":30}'
-- Every request asks something new ("#0" becomes its number): no two replies are alike, nothing can be replayed.
n = 0
function request() n = n + 1 return wrk.format(nil, nil, nil, (wrk.body:gsub("#0", "#" .. n))) end
