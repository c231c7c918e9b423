document.querySelector('#app')!.textContent = 'rnnlm';
