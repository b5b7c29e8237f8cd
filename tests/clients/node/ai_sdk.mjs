// The Vercel AI SDK 7 through one of its providers.
// Usage: node ai_sdk.mjs <base URL> openai|openai-compatible|anthropic|google
// @ai-sdk/openai's default model speaks the Responses API; @ai-sdk/openai-compatible speaks chat completions;
// @ai-sdk/anthropic speaks Anthropic's Messages API (its base URL ends in /v1, as the mock's default mount does);
// @ai-sdk/google speaks the Gemini API (its base URL is the API version's root: /v1beta).
import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, Output, RetryError, generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import {
  API_KEY, CUT, FIRST_ATTEMPT_LIMITED, JOKE_PROMPT, JSON_MODE_PROMPT, Joke, MODEL, QUESTION, RATE_LIMIT,
  WEATHER_QUESTION, check, control, runCells, weather,
} from './cells.mjs';

const [baseURL, providerName] = process.argv.slice(2);
const providers = {
  openai: () => createOpenAI({ baseURL, apiKey: API_KEY })(MODEL),
  'openai-compatible': () => createOpenAICompatible({ name: 'mock', baseURL, apiKey: API_KEY })(MODEL),
  anthropic: () => createAnthropic({ baseURL, apiKey: API_KEY })('claude-sonnet-4-6'),
  google: () => createGoogleGenerativeAI({ baseURL: baseURL.replace(/\/v1$/, '/v1beta'), apiKey: API_KEY })(
    'gemini-2.5-flash'),
};
const model = providers[providerName]();
const getWeather = tool({
  description: 'The weather in a city',
  inputSchema: z.object({ city: z.string().describe('The city') }),
  execute: async ({ city }) => weather(city),
});

async function streamedText(options) {
  const result = streamText({ model, ...options, onError: () => {} });
  let text = '';
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') text += part.text;
    if (part.type === 'error') throw part.error;
  }
  return text;
}

await runCells({
  async plain() {
    check((await generateText({ model, prompt: QUESTION })).text, 'no text');
  },
  async stream() {
    const whole = (await generateText({ model, prompt: QUESTION })).text;
    const text = await streamedText({ prompt: QUESTION });
    check(text && text === whole, `streamed ${JSON.stringify(text)} differs from ${JSON.stringify(whole)}`);
  },
  async tool_loop() {
    const result = await generateText({ model, prompt: WEATHER_QUESTION, tools: { getWeather }, stopWhen: stepCountIs(5) });
    check(result.steps.length === 2 && result.text, `${result.steps.length} steps, text ${JSON.stringify(result.text)}`);
    check(result.steps[0].toolCalls[0].toolName === 'getWeather', 'the first step did not call the tool');
  },
  async stream_tool() {
    const result = streamText({ model, prompt: WEATHER_QUESTION, tools: { getWeather }, toolChoice: 'required',
                                stopWhen: stepCountIs(1) });
    const [call] = await result.toolCalls;
    check(call.toolName === 'getWeather' && call.input.city, `tool call ${JSON.stringify(call)}`);
  },
  async structured() {
    if (providerName === 'openai-compatible') {
      // openai-compatible's default sends json_object and no schema: OpenAI (and so the mock) refuses that with a
      // 400, as the prompt never says "json". Pointed at OpenAI, the provider is told it has structured outputs.
      try {
        await generateText({ model, prompt: JOKE_PROMPT, output: Output.object({ schema: Joke }), maxRetries: 0 });
        throw new Error('json_object without "json" in the messages was accepted');
      } catch (error) {
        check(APICallError.isInstance(error) && error.statusCode === 400 && /word 'json'/.test(error.message),
              `raised ${error?.message}`);
      }
    }
    const structuredModel = providerName !== 'openai-compatible' ? model
      : createOpenAICompatible({ name: 'mock', baseURL, apiKey: API_KEY, supportsStructuredOutputs: true })(MODEL);
    const result = await generateText({ model: structuredModel, prompt: JOKE_PROMPT,
                                        output: Output.object({ schema: Joke }) });
    Joke.parse(result.output);
  },
  async json_mode() {
    const result = await generateText({ model, prompt: JSON_MODE_PROMPT, output: Output.json() });
    Joke.parse(result.output);
  },
  async rate_limit() {
    const { testId, headers } = control(RATE_LIMIT);
    try {
      await generateText({ model, prompt: QUESTION, headers, maxRetries: 2 });
    } catch (error) {
      check(RetryError.isInstance(error) && APICallError.isInstance(error.lastError)
            && error.lastError.statusCode === 429, `raised ${error?.constructor?.name}: ${error?.message}`);
      return { testId, attempts: 3 };
    }
    throw new Error('no error');
  },
  async retry() {
    const { testId, headers } = control(FIRST_ATTEMPT_LIMITED);
    check((await generateText({ model, prompt: QUESTION, headers, maxRetries: 2 })).text, 'no text');
    return { testId, attempts: 2 };
  },
  async cut_stream() {
    const { headers } = control(CUT);
    try {
      await streamedText({ prompt: QUESTION, headers });
    } catch (error) {
      return { note: `${error?.constructor?.name}: ${error?.message}` };
    }
    throw new Error('the cut stream ended without an error');
  },
});
