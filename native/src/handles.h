// DJL tensor handles and Java exceptions, shared by sft4j's JNI libraries. A DJL PtNDArray handle is a
// pointer to an at::Tensor allocated with new; handles returned to Java are allocated the same way.
#pragma once

#include <jni.h>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <string>
#include <vector>

namespace sft4j {

inline at::Tensor& tensor(jlong handle) { return *reinterpret_cast<at::Tensor*>(handle); }

inline jlong handle(const at::Tensor& t) { return reinterpret_cast<jlong>(new at::Tensor(t)); }

inline std::vector<at::Tensor> tensors(JNIEnv* env, jlongArray handles) {
  jsize n = env->GetArrayLength(handles);
  std::vector<jlong> raw(n);
  env->GetLongArrayRegion(handles, 0, n, raw.data());
  std::vector<at::Tensor> out;
  out.reserve(n);
  for (jlong h : raw) out.push_back(tensor(h));
  return out;
}

// A Java string's characters (modified UTF-8, as JNI gives them).
inline std::string utf8(JNIEnv* env, jstring s) {
  const char* chars = env->GetStringUTFChars(s, nullptr);
  std::string out(chars);
  env->ReleaseStringUTFChars(s, chars);
  return out;
}

inline void throwJava(JNIEnv* env, const std::string& what, const std::string& library = "sft4j native") {
  env->ThrowNew(env->FindClass("java/lang/IllegalStateException"), (library + ": " + what).c_str());
}

// An exception's message without the C++ stack trace c10's errors append to it.
inline std::string message(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace sft4j

// A JNI function's body: an exception becomes a Java one (through the calling file's throwJava, which names the
// library) and the function returns `ret` (nothing for a void function).
#define SFT4J_TRY try {
#define SFT4J_CATCH(ret)                          \
  }                                               \
  catch (const std::exception& e) {               \
    throwJava(env, sft4j::message(e));            \
    return ret;                                   \
  }

namespace sft4j {

}  // namespace sft4j
