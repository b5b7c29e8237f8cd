// @google/genai 3.1: Google's official Node SDK on the mock's Gemini API, at the host root as the SDK expects (it
// adds /v1beta/models/...). Its JSON mode is responseMimeType application/json with the shape in the prompt; it
// retries nothing unless told (httpOptions.retryOptions). Usage: node google.mjs <base URL ending in /v1>
import { GoogleGenAI } from '@google/genai';
import {
  API_KEY, CUT, FIRST_ATTEMPT_LIMITED, JOKE_PROMPT, JSON_MODE_PROMPT, Joke, QUESTION, RATE_LIMIT, WEATHER_PARAMETERS,
  WEATHER_QUESTION, check, control, runCells, weather,
} from './cells.mjs';

const MODEL = 'gemini-2.5-flash';
const baseUrl = process.argv[2].replace(/\/v1$/, '');
const client = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl } });
const TOOLS = [{ functionDeclarations: [{ name: 'get_weather', description: 'The weather in a city',
                                          parametersJsonSchema: WEATHER_PARAMETERS }] }];
const RETRIES = { attempts: 3 };
const ask = (config = {}, contents = QUESTION) => client.models.generateContent({ model: MODEL, contents, config });

await runCells({
  async plain() {
    const answer = await ask();
    check(answer.text && answer.candidates[0].finishReason === 'STOP', 'no text');
  },
  async stream() {
    const whole = (await ask()).text;
    let text = '';
    for await (const chunk of await client.models.generateContentStream({ model: MODEL, contents: QUESTION })) {
      text += chunk.text ?? '';
    }
    check(text === whole, `streamed ${JSON.stringify(text)} differs`);
  },
  async tool_loop() {
    const contents = [{ role: 'user', parts: [{ text: WEATHER_QUESTION }] }];
    for (let turn = 0; turn < 4; turn++) {
      const answer = await ask({ tools: TOOLS }, contents);
      const calls = answer.functionCalls ?? [];
      if (!calls.length) {
        check(answer.text && contents.length === 3, `ended after ${contents.length} contents`);
        return;
      }
      contents.push(answer.candidates[0].content);
      contents.push({ role: 'user', parts: calls.map((call) => ({ functionResponse: {
        id: call.id, name: call.name, response: { result: weather(call.args.city) } } })) });
    }
    throw new Error('the tool loop did not end');
  },
  async stream_tool() {
    const calls = [];
    const stream = await client.models.generateContentStream({ model: MODEL, contents: WEATHER_QUESTION, config: {
      tools: TOOLS, toolConfig: { functionCallingConfig: { mode: 'ANY' } } } });
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    check(calls.length && calls[0].name === 'get_weather' && calls[0].args.city, `calls ${JSON.stringify(calls)}`);
  },
  async structured() {
    const schema = { type: 'object', required: ['setup', 'punchline', 'rating'], properties: {
      setup: { type: 'string' }, punchline: { type: 'string' }, rating: { type: 'integer' } } };
    const answer = await ask({ responseMimeType: 'application/json', responseJsonSchema: schema }, JOKE_PROMPT);
    Joke.parse(JSON.parse(answer.text));
  },
  async json_mode() {
    Joke.parse(JSON.parse((await ask({ responseMimeType: 'application/json' }, JSON_MODE_PROMPT)).text));
  },
  async rate_limit() {
    const { testId, headers } = control(RATE_LIMIT);
    try {
      await ask({ httpOptions: { headers, retryOptions: RETRIES } });
    } catch (error) {
      check(error?.status === 429, `raised ${error?.constructor?.name}: ${error?.message}`);
      return { testId, attempts: 3 };
    }
    throw new Error('no error');
  },
  async retry() {
    const { testId, headers } = control(FIRST_ATTEMPT_LIMITED);
    check((await ask({ httpOptions: { headers, retryOptions: RETRIES } })).text, 'no text');
    return { testId, attempts: 2 };
  },
  async cut_stream() {
    const { headers } = control(CUT);
    try {
      const stream = await client.models.generateContentStream({ model: MODEL, contents: QUESTION,
                                                                  config: { httpOptions: { headers } } });
      for await (const chunk of stream) check(chunk, 'no chunk');
    } catch (error) {
      return { note: `${error?.constructor?.name}: ${error?.message}`.slice(0, 120) };
    }
    throw new Error('the cut stream ended without an error');
  },
});
