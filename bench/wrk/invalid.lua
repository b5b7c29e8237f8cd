-- A body that fails validation: temperature above its maximum (400 decimal_above_max_value).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"temperature":3.5}'
