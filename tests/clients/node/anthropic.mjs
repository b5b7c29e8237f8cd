// @anthropic-ai/sdk 1.10: Anthropic's official Node SDK on the mock's Messages API, at the host root as the SDK
// expects (it adds /v1/messages). Anthropic has no JSON mode. Usage: node anthropic.mjs <base URL ending in /v1>
import Anthropic from '@anthropic-ai/sdk';
import {
  API_KEY, CUT, FIRST_ATTEMPT_LIMITED, JOKE_PROMPT, QUESTION, RATE_LIMIT, WEATHER_PARAMETERS, WEATHER_QUESTION,
  check, control, runCells, weather,
} from './cells.mjs';

const MODEL = 'claude-sonnet-4-6';
const client = new Anthropic({ baseURL: process.argv[2].replace(/\/v1$/, ''), apiKey: API_KEY, maxRetries: 2 });
const USER = [{ role: 'user', content: QUESTION }];
const TOOLS = [{ name: 'get_weather', description: 'The weather in a city', input_schema: WEATHER_PARAMETERS }];
const JOKE_SCHEMA = {
  type: 'object', additionalProperties: false, required: ['setup', 'punchline', 'rating'],
  properties: { setup: { type: 'string' }, punchline: { type: 'string' }, rating: { type: 'integer' } },
};
const ask = (extra = {}, options = {}) => client.messages.create({ model: MODEL, max_tokens: 500, messages: USER,
                                                                    ...extra }, options);

await runCells({
  async plain() {
    const message = await ask();
    check(message.content[0].type === 'text' && message.content[0].text && message.stop_reason === 'end_turn',
          'no text');
  },
  async stream() {
    const whole = await ask();
    let text = '';
    const stream = client.messages.stream({ model: MODEL, max_tokens: 500, messages: USER });
    stream.on('text', (piece) => { text += piece; });
    await stream.finalMessage();
    check(text === whole.content[0].text, `streamed ${JSON.stringify(text)} differs`);
  },
  async tool_loop() {
    const messages = [{ role: 'user', content: WEATHER_QUESTION }];
    for (let turn = 0; turn < 4; turn++) {
      const message = await ask({ messages, tools: TOOLS });
      const calls = message.content.filter((block) => block.type === 'tool_use');
      if (!calls.length) {
        check(message.content.at(-1).text && messages.length === 3, `ended after ${messages.length} messages`);
        return;
      }
      messages.push({ role: 'assistant', content: message.content });
      messages.push({ role: 'user', content: calls.map((call) => (
        { type: 'tool_result', tool_use_id: call.id, content: weather(call.input.city) })) });
    }
    throw new Error('the tool loop did not end');
  },
  async stream_tool() {
    const stream = client.messages.stream({ model: MODEL, max_tokens: 500, tools: TOOLS, tool_choice: { type: 'any' },
                                            messages: [{ role: 'user', content: WEATHER_QUESTION }] });
    const call = (await stream.finalMessage()).content.at(-1);
    check(call.type === 'tool_use' && call.name === 'get_weather' && call.input.city, 'bad tool call');
  },
  async structured() {
    const message = await ask({ messages: [{ role: 'user', content: JOKE_PROMPT }],
                                output_config: { format: { type: 'json_schema', schema: JOKE_SCHEMA } } });
    const joke = JSON.parse(message.content[0].text);
    check(typeof joke.setup === 'string' && Number.isInteger(joke.rating), `not a joke: ${message.content[0].text}`);
  },
  async rate_limit() {
    const { testId, headers } = control(RATE_LIMIT);
    try {
      await ask({}, { headers });
    } catch (error) {
      check(error instanceof Anthropic.RateLimitError, `raised ${error?.constructor?.name}`);
      return { testId, attempts: 3 };
    }
    throw new Error('no error');
  },
  async retry() {
    const { testId, headers } = control(FIRST_ATTEMPT_LIMITED);
    check((await ask({}, { headers })).content.length, 'no content');
    return { testId, attempts: 2 };
  },
  async cut_stream() {
    const { headers } = control(CUT);
    try {
      await client.messages.stream({ model: MODEL, max_tokens: 500, messages: USER }, { headers }).finalMessage();
    } catch (error) {
      return { note: `${error?.constructor?.name}: ${error?.message}`.slice(0, 120) };
    }
    throw new Error('the cut stream ended without an error');
  },
});
