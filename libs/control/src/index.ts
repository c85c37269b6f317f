export * from './control.module';
