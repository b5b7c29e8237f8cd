// ollama 0.6 (npm): the official Ollama client for Node on the mock's native Ollama API, at the host root as
// OLLAMA_HOST gives it. Structured output is format with a JSON schema, JSON mode format "json". The client retries
// nothing: a 429 is its ResponseError at once, and the retry cell is the caller's one retry.
// Usage: node ollama.mjs <base URL ending in /v1>
import { Ollama } from 'ollama';
import {
  CUT, FIRST_ATTEMPT_LIMITED, JOKE_PROMPT, JSON_MODE_PROMPT, Joke, QUESTION, RATE_LIMIT, WEATHER_PARAMETERS,
  WEATHER_QUESTION, check, control, runCells, weather,
} from './cells.mjs';

const MODEL = 'llama3.2';
const host = process.argv[2].replace(/\/v1$/, '');
const made = (headers = {}) => new Ollama({ host, headers });
const client = made();
const USER = [{ role: 'user', content: QUESTION }];
const TOOLS = [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city',
                                                parameters: WEATHER_PARAMETERS } }];
const JOKE_SCHEMA = { type: 'object', required: ['setup', 'punchline', 'rating'], properties: {
  setup: { type: 'string' }, punchline: { type: 'string' }, rating: { type: 'integer' } } };

await runCells({
  async plain() {
    const answer = await client.chat({ model: MODEL, messages: USER });
    check(answer.message.content && answer.done_reason === 'stop', 'no text');
  },
  async stream() {
    const whole = (await client.chat({ model: MODEL, messages: USER })).message.content;
    let text = '';
    for await (const part of await client.chat({ model: MODEL, messages: USER, stream: true })) {
      text += part.message.content;
    }
    check(text === whole, `streamed ${JSON.stringify(text)} differs`);
  },
  async tool_loop() {
    const messages = [{ role: 'user', content: WEATHER_QUESTION }];
    for (let turn = 0; turn < 4; turn++) {
      const answer = await client.chat({ model: MODEL, messages, tools: TOOLS });
      const calls = answer.message.tool_calls ?? [];
      if (!calls.length) {
        check(answer.message.content && messages.length === 3, `ended after ${messages.length} messages`);
        return;
      }
      messages.push(answer.message);
      for (const call of calls) {
        messages.push({ role: 'tool', content: weather(call.function.arguments.city), tool_name: call.function.name });
      }
    }
    throw new Error('the tool loop did not end');
  },
  async stream_tool() {
    const calls = [];
    const stream = await client.chat({ model: MODEL, stream: true, tools: TOOLS,
                                       messages: [{ role: 'user', content: WEATHER_QUESTION }] });
    for await (const part of stream) calls.push(...(part.message.tool_calls ?? []));
    check(calls.length && calls[0].function.name === 'get_weather' && calls[0].function.arguments.city,
          `calls ${JSON.stringify(calls)}`);
  },
  async structured() {
    const answer = await client.chat({ model: MODEL, messages: [{ role: 'user', content: JOKE_PROMPT }],
                                       format: JOKE_SCHEMA });
    Joke.parse(JSON.parse(answer.message.content));
  },
  async json_mode() {
    const answer = await client.chat({ model: MODEL, messages: [{ role: 'user', content: JSON_MODE_PROMPT }],
                                       format: 'json' });
    Joke.parse(JSON.parse(answer.message.content));
  },
  async rate_limit() {
    const { testId, headers } = control(RATE_LIMIT);
    try {
      await made(headers).chat({ model: MODEL, messages: USER });
    } catch (error) {
      check(error?.status_code === 429, `raised ${error?.constructor?.name}: ${error?.message}`);
      return { testId, attempts: 1 };
    }
    throw new Error('no error');
  },
  async retry() {
    const { testId, headers } = control(FIRST_ATTEMPT_LIMITED);
    const limited = made(headers);
    let answer;
    try {
      answer = await limited.chat({ model: MODEL, messages: USER });
    } catch (error) {
      check(error?.status_code === 429, `raised ${error?.message}`);
      answer = await limited.chat({ model: MODEL, messages: USER });
    }
    check(answer.message.content, 'no text');
    return { testId, attempts: 2 };
  },
  async cut_stream() {
    const { headers } = control(CUT);
    try {
      for await (const part of await made(headers).chat({ model: MODEL, messages: USER, stream: true })) {
        check(part, 'no part');
      }
    } catch (error) {
      return { note: `${error?.constructor?.name}: ${error?.message}`.slice(0, 120) };
    }
    throw new Error('the cut stream ended without an error');
  },
});
