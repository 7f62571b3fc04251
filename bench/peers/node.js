// The Node.js peer bench/run.sh measures PiCloud against: the few lines of
// `http` a user would write instead, serving the same hello-world and the
// same 20-item JSON list (built per request, as PiCloud's script builds
// it). Usage: node bench/peers/node.js PORT
'use strict';
const http = require('http');

http
  .createServer((req, res) => {
    if (req.url === '/hello') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Hello, world!');
    } else if (req.url === '/json') {
      const items = [];
      for (let i = 0; i < 20; i++) {
        items.push({ id: i, name: 'item ' + i, done: i % 2 === 0 });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items }));
    } else {
      res.writeHead(404);
      res.end();
    }
  })
  .listen(Number(process.argv[2]), '127.0.0.1');
