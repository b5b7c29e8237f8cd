// What every Node client of the matrix is asked to do: the same cells as tests/clients/cells.py.
// A script prints one JSON line per cell: {cell, ok, detail, test_id, attempts}; test_node.py checks each one
// against the mock's journal (attempts: how many requests the cell must have made, null if not counted).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export const MODEL = 'gpt-4o-mini';
export const API_KEY = 'sk-client-matrix';
export const QUESTION = 'Say hello to the client matrix.';
export const WEATHER_QUESTION = 'What is the weather in Paris?';
export const JOKE_PROMPT = 'Tell me a joke about penguins.';
export const JSON_MODE_PROMPT =
  "Tell me a joke about penguins. Respond in JSON with the keys 'setup', 'punchline' and 'rating' (integer).";
export const RATE_LIMIT = 'rate_limit;retry_after_ms=10';
export const FIRST_ATTEMPT_LIMITED = 'rate_limit;retry_after_ms=10;attempts=0';
export const CUT = 'disconnect;after_chunks=2';
export const Joke = z.object({ setup: z.string(), punchline: z.string(), rating: z.number().int() });
export const WEATHER_PARAMETERS = {
  type: 'object',
  properties: { city: { type: 'string', description: 'The city' } },
  required: ['city'],
  additionalProperties: false,
};
export const weather = (city) => `Sunny and 21 °C in ${city}`;

export function control(fault) {
  const testId = randomUUID().replaceAll('-', '');
  const headers = { 'X-Mock-Test-Id': testId };
  if (fault) headers['X-Mock-Fault'] = fault;
  return { testId, headers };
}

export function check(condition, detail) {
  if (!condition) throw new Error(detail);
}

// Runs each cell in order; a cell returns {testId, attempts} when the journal should count its requests, and
// {note} to say what it saw (the error a cut stream raised).
export async function runCells(cells) {
  for (const [cell, body] of Object.entries(cells)) {
    try {
      const counted = (await body()) ?? {};
      console.log(JSON.stringify({ cell, ok: true, detail: counted.note ?? '', test_id: counted.testId ?? null,
                                   attempts: counted.attempts ?? null }));
    } catch (error) {
      console.log(JSON.stringify({ cell, ok: false, detail: String(error?.stack ?? error).slice(0, 400),
                                   test_id: null, attempts: null }));
    }
  }
}
