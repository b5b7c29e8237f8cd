-- Streamed chat of about 30 tokens (one frame per token).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tell me a short story."}],"stream":true,"max_tokens":30}'
