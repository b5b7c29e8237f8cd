// openai-node 7's OpenAIRealtimeWebSocket on the mock's Realtime API (over wss://: the client connects over TLS
// only; the test starts the mock with --tls-cert and trusts it through NODE_EXTRA_CA_CERTS): a function call round
// trip to a text answer. Prints one JSON line: {ok, detail, types}. Usage: node realtime.mjs <https base URL /v1>
import OpenAI from 'openai';
import { OpenAIRealtimeWebSocket } from 'openai/realtime/websocket';

const client = new OpenAI({ baseURL: process.argv[2], apiKey: 'sk-client-matrix' });
const rt = new OpenAIRealtimeWebSocket({ model: 'gpt-realtime' }, client);
const types = [];
const waiting = [];
rt.on('error', (error) => types.push(`error: ${error?.message ?? error}`));
rt.on('event', (event) => {
  types.push(event.type);
  for (const wait of [...waiting]) {
    if (event.type === wait.type) {
      waiting.splice(waiting.indexOf(wait), 1);
      wait.resolve(event);
    }
  }
});
const next = (type) => new Promise((resolve, reject) => {
  waiting.push({ type, resolve });
  setTimeout(() => reject(new Error(`no ${type} within 10 s`)), 10_000);
});
try {
  await new Promise((resolve, reject) => {  // the runtime's WebSocket, an EventTarget in Node 22
    rt.socket.addEventListener('open', resolve);
    rt.socket.addEventListener('error', reject);
  });
  rt.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], tool_choice: 'required',
    tools: [{ type: 'function', name: 'get_weather', description: 'The weather in a city',
              parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }] } });
  await next('session.updated');
  rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user',
    content: [{ type: 'input_text', text: 'What is the weather in Paris?' }] } });
  rt.send({ type: 'response.create' });
  const called = await next('response.function_call_arguments.done');
  await next('response.done');
  rt.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: called.call_id,
    output: JSON.stringify({ forecast: 'sunny' }) } });
  rt.send({ type: 'session.update', session: { type: 'realtime', tool_choice: 'auto' } });
  rt.send({ type: 'response.create' });
  const answered = await next('response.done');
  const text = answered.response.output[0]?.content?.[0]?.text;
  if (!JSON.parse(called.arguments).city || !text) throw new Error(`call ${called.arguments}, answer ${text}`);
  console.log(JSON.stringify({ ok: true, detail: text.slice(0, 60), types }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, detail: String(error?.stack ?? error).slice(0, 400), types }));
} finally {
  rt.close();
}
