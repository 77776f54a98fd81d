// The offline guard of the browser tests must itself be right: it is what proves that a page
// needs nothing from the internet.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { isLoopback } from '../lib/browser.js';

test('loopback URLs pass the offline filter, all others are blocked', () => {
  for (const url of [
    'http://127.0.0.1:8080/api/docs/',
    'http://127.5.6.7/x',
    'http://localhost:3000/',
    'http://[::1]:8080/healthz',
    'data:image/png;base64,AAAA',
  ]) {
    assert.equal(isLoopback(url), true, url);
  }
  for (const url of [
    'https://validator.swagger.io/validator',
    'https://cdn.jsdelivr.net/npm/swagger-ui-dist/swagger-ui.css',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://127.0.0.1.example.com/',
    'https://fonts.googleapis.com/css',
  ]) {
    assert.equal(isLoopback(url), false, url);
  }
});
