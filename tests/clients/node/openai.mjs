// openai-node 7.59: the official Node SDK. Usage: node openai.mjs <base URL>
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import {
  API_KEY, CUT, FIRST_ATTEMPT_LIMITED, JOKE_PROMPT, JSON_MODE_PROMPT, Joke, MODEL, QUESTION, RATE_LIMIT,
  WEATHER_PARAMETERS, WEATHER_QUESTION, check, control, runCells, weather,
} from './cells.mjs';

const client = new OpenAI({ baseURL: process.argv[2], apiKey: API_KEY, maxRetries: 2 });
const USER = [{ role: 'user', content: QUESTION }];
const TOOLS = [{ type: 'function',
  function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER_PARAMETERS } }];

await runCells({
  async plain() {
    const completion = await client.chat.completions.create({ model: MODEL, messages: USER });
    check(completion.choices[0].message.content, 'no content');
  },
  async stream() {
    const whole = await client.chat.completions.create({ model: MODEL, messages: USER });
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: MODEL, messages: USER, stream: true })) {
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    check(text === whole.choices[0].message.content, `streamed ${JSON.stringify(text)} differs`);
  },
  async tool_loop() {
    const messages = [{ role: 'user', content: WEATHER_QUESTION }];
    for (let turn = 0; turn < 4; turn++) {
      const { message } = (await client.chat.completions.create({ model: MODEL, messages, tools: TOOLS })).choices[0];
      if (!message.tool_calls?.length) {
        check(message.content && messages.length === 3, `ended after ${messages.length} messages`);
        return;
      }
      messages.push(message);
      for (const call of message.tool_calls) {
        messages.push({ role: 'tool', tool_call_id: call.id, content: weather(JSON.parse(call.function.arguments).city) });
      }
    }
    throw new Error('the tool loop did not end');
  },
  async stream_tool() {
    const stream = client.chat.completions.stream({
      model: MODEL, messages: [{ role: 'user', content: WEATHER_QUESTION }], tools: TOOLS, tool_choice: 'required' });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0].message.tool_calls[0];
    check(call.function.name === 'get_weather' && JSON.parse(call.function.arguments).city, 'bad tool call');
  },
  async structured() {
    const completion = await client.chat.completions.parse({
      model: MODEL, messages: [{ role: 'user', content: JOKE_PROMPT }], response_format: zodResponseFormat(Joke, 'joke') });
    Joke.parse(completion.choices[0].message.parsed);
  },
  async json_mode() {
    const completion = await client.chat.completions.create({
      model: MODEL, messages: [{ role: 'user', content: JSON_MODE_PROMPT }], response_format: { type: 'json_object' } });
    Joke.parse(JSON.parse(completion.choices[0].message.content));
  },
  async rate_limit() {
    const { testId, headers } = control(RATE_LIMIT);
    try {
      await client.chat.completions.create({ model: MODEL, messages: USER }, { headers });
    } catch (error) {
      check(error instanceof OpenAI.RateLimitError, `raised ${error?.constructor?.name}`);
      return { testId, attempts: 3 };
    }
    throw new Error('no error');
  },
  async retry() {
    const { testId, headers } = control(FIRST_ATTEMPT_LIMITED);
    const completion = await client.chat.completions.create({ model: MODEL, messages: USER }, { headers });
    check(completion.choices[0].message.content, 'no content');
    return { testId, attempts: 2 };
  },
  async cut_stream() {
    const { headers } = control(CUT);
    try {
      const stream = await client.chat.completions.create({ model: MODEL, messages: USER, stream: true }, { headers });
      for await (const chunk of stream) void chunk;
    } catch (error) {
      check(error instanceof OpenAI.APIConnectionError || error?.name === 'TypeError',
            `raised ${error?.constructor?.name}: ${error?.message}`);
      return { note: `${error.constructor.name}: ${error.message}` };
    }
    throw new Error('the cut stream ended without an error');
  },
});
